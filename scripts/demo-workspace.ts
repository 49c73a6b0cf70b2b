/** Writes the demo's audit workspace and prints its task: `tsx scripts/demo-workspace.ts DIR N`. */
import { auditTask, writeAuditWorkspace } from '../simulator/scenarios/audit.js';

const [dir, count = '250'] = process.argv.slice(2);
if (!dir || !/^\d+$/.test(count)) {
  process.stderr.write('usage: tsx scripts/demo-workspace.ts DIR [N]\n');
  process.exit(2);
}
await writeAuditWorkspace(dir, Number(count));
process.stdout.write(auditTask(Number(count)));
