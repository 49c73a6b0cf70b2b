import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/longhaul.mjs', import.meta.url));

/** Runs the real `longhaul` CLI as a child process against the test's dev server (with extra env if given). */
export function cli(
  address: string,
  taskQueue: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, TEMPORAL_ADDRESS: address, LONGHAUL_TASK_QUEUE: taskQueue, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}
