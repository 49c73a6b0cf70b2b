import { ensureTemporalCli } from '../../scripts/temporal-cli.mjs';
import { writeWorkflowBundle } from '../../worker/bundle.js';

/** Once per test run: find (or build) the Temporal CLI and bundle the workflow code. */
export default async function setup(): Promise<void> {
  process.env.TEMPORAL_CLI = ensureTemporalCli();
  process.env.LONGHAUL_WORKFLOW_BUNDLE = await writeWorkflowBundle();
}
