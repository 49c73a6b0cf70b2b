/** Pre-bundles the workflow code so that worker start-up does no bundling. */
import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodedFailureConverterPath } from '../config/codec.js';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
export const defaultBundlePath = fileURLToPath(new URL('../build/workflow-bundle.js', import.meta.url));
/**
 * Always part of the workflow code, traced or not (worker/telemetry.ts): a pre-built bundle cannot
 * add interceptors later, and workers on one task queue should run the same workflow code.
 */
export const workflowInterceptorModules = [
  createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/** The bundle for workers with encryption on: the same code with the encoded-failures converter. */
export const encodedFailuresBundlePath = (path: string) => path.replace(/(\.js)?$/, '.encoded-failures.js');

/** Writes the bundle to `path`, and its encoded-failures variant beside it. */
export async function writeWorkflowBundle(path = defaultBundlePath): Promise<string> {
  const logger = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };
  await mkdir(dirname(path), { recursive: true });
  for (const [target, failureConverterPath] of [
    [path, undefined],
    [encodedFailuresBundlePath(path), encodedFailureConverterPath],
  ] as const) {
    const { code } = await bundleWorkflowCode({
      workflowsPath,
      workflowInterceptorModules,
      logger,
      ...(failureConverterPath ? { failureConverterPath } : {}),
    });
    await writeFile(target, code);
  }
  return path;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const path = await writeWorkflowBundle(process.argv[2] ? resolve(process.argv[2]) : undefined);
  process.stdout.write(`workflow bundle written to ${path}\n`);
}
