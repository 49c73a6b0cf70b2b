import { parseArgs } from 'node:util';
import { startSimulator } from './server.js';

/** CLI: `tsx simulator/main.ts --port 8787 [--latency-ms N]`. Loopback only, like the library default. */
const USAGE = 'usage: tsx simulator/main.ts [--port 8787] [--latency-ms N]';

function parseCli() {
  try {
    return parseArgs({
      strict: true,
      options: {
        port: { type: 'string', default: '8787' },
        'latency-ms': { type: 'string', default: '0' },
      },
    }).values;
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(2);
  }
}

const values = parseCli();

function nonNegativeInt(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} must be a non-negative integer, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

const simulator = await startSimulator({
  port: nonNegativeInt('port', values.port),
  latencyMs: nonNegativeInt('latency-ms', values['latency-ms']),
});
console.log(`simulator listening on ${simulator.url}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    simulator.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`simulator: close failed: ${String(err)}`);
        process.exit(1);
      },
    );
  });
}
