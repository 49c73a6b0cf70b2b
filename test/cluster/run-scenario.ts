import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs a cluster scenario (`test/cluster/<name>.ts`) in a network namespace of its own (`unshare
 * --net`, as root), passing its stderr through; resolves with the JSON of its last stdout line.
 */
export function runScenario<T>(name: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'unshare',
      ['--net', '--fork', process.execPath, '--import', 'tsx', `test/cluster/${name}.ts`, ...args],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      process.stderr.write(d);
    });
    child.once('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && last.startsWith('{')) return resolve(JSON.parse(last) as T);
      reject(new Error(`${name} exited with ${code}:\n${err.slice(-6000)}\n${out.slice(-2000)}`));
    });
  });
}
