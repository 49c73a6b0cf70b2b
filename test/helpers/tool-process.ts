/**
 * One coding-tool call in a process of its own, started with the environment a test gives it, as
 * a worker's: `node --import tsx tool-process.ts '<json>'` prints the tool's output as JSON. The
 * command's parent is then a process whose environment (and /proc/<pid>/environ) holds the test's
 * secrets from its start, as a real worker's does.
 */
import { runToolCall } from '../../activities/run-tool.js';
import { DirectoryStore } from '../../store/directory-store.js';
import { codingTools, type CodingToolOptions } from '../../tools/coding/index.js';

const { workspace, storeDir, options, name, input } = JSON.parse(process.argv[2]!) as {
  workspace: string;
  storeDir: string;
  options: CodingToolOptions;
  name: string;
  input: unknown;
};
const tools = new Map(codingTools(options).map((t) => [t.name, t]));
const output = await runToolCall(tools, new DirectoryStore(storeDir), {
  workflowId: `wf-${process.pid}`,
  turn: 1,
  workspace,
  call: { id: 'toolu_1', name, input },
});
process.stdout.write(JSON.stringify(output));
