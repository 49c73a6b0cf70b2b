import { z } from 'zod';
import { intentRecord } from '../../activities/ledger.js';
import type { BlobRef, BlobStore } from '../../store/blob-store.js';
import { defineTool } from '../../tools/define.js';

/** How the ledger of one run (by workflowId) misbehaves. */
export interface LedgerFaults {
  /** Every ledger write fails: the ledger is not writable (disk full, a read-only volume, a database down). */
  unwritable?: boolean;
  /** This many writes of a call's result (after its intent was recorded) fail, then they work. */
  failResultWrites?: number;
}

/** A store that hands every call to another; the wrappers below override what they change. */
class ForwardingStore implements BlobStore {
  constructor(protected readonly inner: BlobStore) {}

  put(content: string, ref?: BlobRef): Promise<BlobRef> {
    return this.inner.put(content, ref);
  }
  get(ref: BlobRef): Promise<string> {
    return this.inner.get(ref);
  }
  getRecord(key: string): Promise<string | undefined> {
    return this.inner.getRecord(key);
  }
  putRecord(key: string, value: string): Promise<void> {
    return this.inner.putRecord(key, value);
  }
  createRecord(key: string, value: string): Promise<boolean> {
    return this.inner.createRecord(key, value);
  }
  journal(line: string): Promise<void> {
    return this.inner.journal(line);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A store whose ledger writes fail as told, per run; blobs and reads pass through to the real store. */
export class FaultyLedger extends ForwardingStore {
  private readonly faults = new Map<string, LedgerFaults>();
  /** Journal lines as the inner store got them: the side effects actually performed. */
  readonly journaled: string[] = [];

  /** Ledger keys start with the run's workflowId (activities/ledger.ts). */
  failFor(workflowId: string, faults: LedgerFaults): void {
    this.faults.set(workflowId, { ...faults });
  }

  private refuse(key: string, what: 'intent' | 'result'): void {
    const faults = this.faults.get(key.split('/')[0]!);
    if (faults?.unwritable) throw new Error(`EROFS: read-only file system, cannot record the ${what} of ${key}`);
    if (what === 'result' && faults?.failResultWrites) {
      faults.failResultWrites--;
      throw new Error(`ENOSPC: no space left on device, cannot record the result of ${key}`);
    }
  }

  override async putRecord(key: string, value: string): Promise<void> {
    this.refuse(key, 'result');
    await this.inner.putRecord(key, value);
  }
  override async createRecord(key: string, value: string): Promise<boolean> {
    this.refuse(key, 'intent');
    return this.inner.createRecord(key, value);
  }
  override async journal(line: string): Promise<void> {
    await this.inner.journal(line);
    this.journaled.push(line);
  }
}

/**
 * A side-effecting tool that counts what it actually did, per workspace: each call appends its
 * note, and its result names the effect's number, so a result replayed from the ledger is told
 * apart from a new effect.
 */
export function countingTool() {
  const effects = new Map<string, string[]>();
  const tool = defineTool({
    name: 'record_effect',
    description: 'Records a note (a side effect).',
    input: z.object({ note: z.string() }).strict(),
    sideEffectFree: false,
    async run({ note }, { workspace }) {
      const done = [...(effects.get(workspace) ?? []), note];
      effects.set(workspace, done);
      return { content: `effect #${done.length}: ${note}` };
    },
  });
  return { tool, effects: (workspace: string) => effects.get(workspace) ?? [] };
}

/**
 * A store that, once it recorded the result of a call of `tool`, says so on stdout and never
 * answers again: the worker hangs right after the call finished and before it could report it,
 * for a test to kill it there (test/helpers/worker-process.ts, LONGHAUL_TEST_HOLD_AFTER_RESULT).
 */
export class HoldAfterResult extends ForwardingStore {
  private readonly keys = new Set<string>();

  constructor(
    inner: BlobStore,
    private readonly tool: string,
  ) {
    super(inner);
  }

  override async putRecord(key: string, value: string): Promise<void> {
    await this.inner.putRecord(key, value);
    if (!this.keys.has(key)) return;
    process.stdout.write(`held after recording the result of ${this.tool} ${key}\n`);
    await new Promise(() => {});
  }
  override async createRecord(key: string, value: string): Promise<boolean> {
    // The intent names its tool (activities/ledger.ts intentRecord); the result does not.
    if (value === intentRecord(this.tool)) this.keys.add(key);
    return this.inner.createRecord(key, value);
  }
}
