import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/**
 * Machines for longhaul workers, made of Linux namespaces: each host is a network namespace
 * (`ip netns`) on a bridge, with its own hostname and pid namespace, so that to Temporal and to
 * longhaul its workers are on another machine (their identities are `pid@host`, their pids
 * start at 1, a dead pid on one is nothing to another). Needs root, and must run inside a network
 * namespace of its own (`unshare --net`): the bridge and its addresses are never on a real
 * network.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });

export const BRIDGE = 'lh0';
export const SUBNET = '10.77.0.0/24';
/** The address the services (Temporal, PostgreSQL, the simulator) bind, on the bridge. */
export const SERVICES_ADDRESS = '10.77.0.1';

/** Loopback and the bridge in the caller's (unshared) network namespace. */
export function makeBridge(): void {
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', BRIDGE, 'type', 'bridge');
  ip('addr', 'add', `${SERVICES_ADDRESS}/24`, 'dev', BRIDGE);
  ip('link', 'set', BRIDGE, 'up');
}

export interface Host {
  name: string;
  /** The network namespace's name under /run/netns. */
  netns: string;
  address: string;
  /** Starts `longhaul worker` on it (resolving once it polls); its output is kept. */
  startWorker(env: Record<string, string>): Promise<ChildProcess>;
  /** SIGKILLs every process of the host at once, as a machine that loses power; resolves once gone. */
  kill(): Promise<number>;
  output(): string;
  remove(): void;
}

/** A host `name`, number `n` (1 to 200) on the bridge. */
export function makeHost(name: string, n: number): Host {
  const netns = `lh-${process.pid}-${name}`;
  const address = `10.77.0.${10 + n}`;
  const [outside, inside] = [`lhv${n}`, `lhw${n}`];
  ip('netns', 'add', netns);
  ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
  ip('link', 'set', inside, 'netns', netns);
  ip('link', 'set', outside, 'master', BRIDGE, 'up');
  ip('netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up');
  ip('netns', 'exec', netns, 'ip', 'addr', 'add', `${address}/24`, 'dev', inside);
  ip('netns', 'exec', netns, 'ip', 'link', 'set', inside, 'up');
  let output = '';
  const procs = new Set<ChildProcess>();
  return {
    name,
    netns,
    address,
    output: () => output,
    startWorker: (env) =>
      new Promise((resolve, reject) => {
        // A UTS and a pid namespace (with its own /proc) inside the network one: hostname and pids are the host's.
        const child = spawn(
          'ip',
          [
            'netns',
            'exec',
            netns,
            'unshare',
            '--uts',
            '--pid',
            '--fork',
            '--mount-proc',
            'sh',
            '-c',
            'hostname "$0" && exec "$@"',
            name,
            process.execPath,
            join(repoRoot, 'bin/longhaul.mjs'),
            'worker',
          ],
          { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        procs.add(child);
        child.on('exit', () => procs.delete(child));
        const onData = (chunk: Buffer) => {
          output = (output + chunk.toString()).slice(-100_000);
          if (output.includes('longhaul worker polling')) resolve(child);
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', (code) =>
          reject(new Error(`worker on ${name} exited with ${code} before polling:\n${output}`)),
        );
      }),
    async kill() {
      const at = Date.now();
      const pids = () => ip('netns', 'pids', netns).split('\n').filter(Boolean).map(Number);
      for (const pid of pids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      while (pids().length > 0) await sleep(10);
      await Promise.all(
        [...procs].map((p) =>
          p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r)),
        ),
      );
      return at;
    },
    remove() {
      for (const p of procs) p.kill('SIGKILL');
      try {
        ip('netns', 'del', netns);
      } catch {
        // already removed
      }
    },
  };
}
