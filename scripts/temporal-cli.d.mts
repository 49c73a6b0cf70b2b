export declare const TEMPORAL_CLI_VERSION: string;
export declare function cacheDir(): string;
/** The binary's path without building; undefined when none is found. */
export declare function findTemporalCli(): string | undefined;
/** The binary's path, building the pinned version into the cache when none is found. */
export declare function ensureTemporalCli(log?: (line: string) => void): string;
