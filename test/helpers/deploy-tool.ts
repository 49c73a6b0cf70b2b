import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { defineTool } from '../../tools/define.js';

/** Where the deploy tool records what it deployed, in the run's workspace: a line per deployment. */
export const DEPLOYS = 'deploys.log';

/**
 * A user's tool that needs a person only for production: staging deploys run at once, prod ones
 * are held with the release and the workspace shown. Its effect is a line in the workspace.
 */
export const deployTool = defineTool({
  name: 'deploy',
  description: 'Deploy a release to a target environment.',
  input: z.object({ target: z.string(), version: z.string() }),
  sideEffectFree: false,
  needsApproval: ({ target }) => target === 'prod',
  approvalDetail: async ({ target, version }, { workspace }) =>
    `release ${version} goes to ${target}\nbuilt from ${workspace}`,
  run: async ({ target, version }, { workspace }) => {
    await appendFile(join(workspace, DEPLOYS), `${version} ${target}\n`);
    return { content: `deployed ${version} to ${target}` };
  },
});

/** The deployments the tool made in a workspace, in order. */
export const deploys = (workspace: string): Promise<string[]> =>
  readFile(join(workspace, DEPLOYS), 'utf8').then(
    (text) => text.split('\n').filter(Boolean),
    () => [],
  );
