/** Submits a word-counter run and prints its report: `tsx examples/word-count/submit.ts DIR "task"`. */
import { resolve } from 'node:path';
import { connectClient, startRun } from 'longhaul';

const [workspace = '.', task = 'Count the words of every .txt file, then finish with a table of counts.'] =
  process.argv.slice(2);
const { client, connection, env } = await connectClient();
try {
  const handle = await startRun(
    client,
    { agent: 'word-counter', task, workspace: resolve(workspace) },
    { taskQueue: env.LONGHAUL_TASK_QUEUE },
  );
  process.stderr.write(`submitted ${handle.workflowId}\n`);
  const result = await handle.result();
  process.stdout.write(`${result.status}: ${result.report ?? result.reason ?? ''}\n`);
} finally {
  await connection.close();
}
