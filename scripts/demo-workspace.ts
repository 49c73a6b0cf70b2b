/**
 * Writes a demo's workspace and prints its task: `tsx scripts/demo-workspace.ts DIR [N]` for the
 * audit of N files, `tsx scripts/demo-workspace.ts coding DIR` for the coding task's repository.
 */
import { auditTask, writeAuditWorkspace } from '../simulator/scenarios/audit.js';
import { codingTask, writeCodingWorkspace } from '../simulator/scenarios/coding.js';

const args = process.argv.slice(2);
if (args[0] === 'coding' && args.length === 2) {
  await writeCodingWorkspace(args[1]!);
  process.stdout.write(codingTask({ reviewCommand: 'git diff' }));
} else {
  const [dir, count = '250'] = args;
  if (!dir || !/^\d+$/.test(count)) {
    process.stderr.write('usage: tsx scripts/demo-workspace.ts DIR [N] | tsx scripts/demo-workspace.ts coding DIR\n');
    process.exit(2);
  }
  await writeAuditWorkspace(dir, Number(count));
  process.stdout.write(auditTask(Number(count)));
}
