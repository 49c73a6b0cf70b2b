/** A bad setting of a worker or client (an env variable, a worker option): one line naming it. */
export class ConfigError extends Error {}
