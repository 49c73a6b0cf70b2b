import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startRun } from '../client/connect.js';
import { bwrapProblem } from '../tools/coding/sandbox.js';
import { useHarness } from './helpers/harness.js';

/**
 * `longhaul worker` serving the coding toolset from its environment (LONGHAUL_TOOLS), on a real
 * dev server with the simulator: the model is offered the tools, an allow-listed command runs with
 * no person asked (the worker's needsApproval travels with the call), and the worker's own secrets
 * reach neither the command, the run's report, its history nor the store.
 */
const h = useHarness();
const noBwrap = await bwrapProblem();

/** Every file under `dir`, read as text. */
async function everything(dir: string): Promise<string> {
  const names = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = names.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  return (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('\n');
}

/** A history as text, with every payload's data decoded, so a secret in any payload shows. */
function historyText(json: string): string {
  const decoded = [...json.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map((m) =>
    Buffer.from(m[1]!, 'base64').toString('utf8'),
  );
  return `${json}\n${decoded.join('\n')}`;
}

describe('longhaul worker with LONGHAUL_TOOLS=workspace,coding', () => {
  it("runs an allow-listed command without a person, and the command cannot print the worker's secrets", async () => {
    const secrets = [`sk-ant-CANARY-${randomUUID()}`, `codec-CANARY-${randomUUID()}`, `pw-CANARY-${randomUUID()}`];
    const queue = `${h.taskQueue}-coding`;
    const sandbox = noBwrap === undefined ? 'bwrap' : 'off';
    const child = await h.spawnWorker(queue, {
      ANTHROPIC_API_KEY: secrets[0]!,
      LONGHAUL_CODEC_TOKEN: secrets[1]!,
      DEPLOY_PASSWORD: secrets[2]!,
      LONGHAUL_TOOLS: 'workspace,coding',
      LONGHAUL_COMMAND_ALLOW: 'env,cat',
      LONGHAUL_SANDBOX: sandbox,
    });
    try {
      const workspace = join(h.dir, 'coding-worker');
      await mkdir(workspace, { recursive: true });
      await writeFile(join(workspace, 'visible.txt'), 'CONTROL-TEXT-readable');
      const commands = [
        'env',
        'cat visible.txt',
        // Inside the sandbox every process's environment, the worker's too if it could be seen.
        ...(sandbox === 'bwrap' ? ['cat /proc/1/environ /proc/2/environ /proc/self/environ'] : []),
      ];
      const runs = await Promise.all(
        commands.map((command) =>
          startRun(
            h.env.client,
            { task: `[sim:call run_command] ${JSON.stringify({ command })}`, workspace },
            { taskQueue: queue },
          ),
        ),
      );
      const reports = await Promise.all(runs.map(async (run) => (await run.result()).report!));
      expect(reports[0]).toMatch(
        /^run_command said: [\s\S]*PATH=[\s\S]*\[exit code 0\] \| offered: list_files, read_file, write_file, edit_file, glob, grep, run_command/,
      );
      // The control: what a command prints does reach the report, so a secret would.
      expect(reports[1]).toMatch(/^run_command said: CONTROL-TEXT-readable/);
      const histories = await Promise.all(
        runs.map(async (run) =>
          historyText(historyToJSON(await h.env.client.workflow.getHandle(run.workflowId).fetchHistory())),
        ),
      );
      expect(histories[1]).toContain('CONTROL-TEXT-readable');
      const store = await everything(h.storeDir);
      for (const text of [...reports, ...histories, store]) {
        for (const secret of secrets) expect(text).not.toContain(secret);
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
