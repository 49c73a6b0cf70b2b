/** A worker that serves the word-counter agent, configured from the environment (see README). */
import { createWorker } from 'longhaul';
import { wordCounter } from './agent.js';

const worker = await createWorker({ agents: [wordCounter] });
process.stderr.write(`word-count worker polling ${worker.config.LONGHAUL_TASK_QUEUE}\n`);
await worker.run();
