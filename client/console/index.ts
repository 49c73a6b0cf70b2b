/** `longhaul console`: what the CLI starts (docs/console.md). */
export { DEFAULT_WEB_UI, startConsole, type ConsoleOptions, type ConsoleServer } from './server.js';
export { MIN_TOKEN_CHARS, newConsoleToken } from './security.js';
