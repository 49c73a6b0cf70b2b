#!/usr/bin/env node
// The TypeScript sources run through tsx, so there is no build step between an edit and a run.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../client/cli.ts');
// `longhaul worker` imports the worker only when it is the command.
await runCli(process.argv.slice(2), { runWorker: async () => (await import('../worker/main.ts')).runWorker() });
