/** ~/.cache/longhaul/temporal-server-v<version>: the server, its SQL tool and its PostgreSQL schema. */
export declare function serverCacheDir(): string;
/** That directory, after building the server and the tool with `go install` when missing. */
export declare function ensureTemporalServer(log?: (line: string) => void): string;
