import { describe, expect, it } from 'vitest';
import { awaitResult } from '../../client/export.js';
import { call, FAST, finish, resultOf, use, useLoopEnv } from '../helpers/scripted-model.js';

const loop = useLoopEnv();

// That a group's calls overlap is seen by the simulator's probe (test/parallel-calls.test.ts).
describe.concurrent('the calls of one reply, in groups', FAST, () => {
  it("each call's position is its index in the reply, inside a group too; the results keep the reply's order", async () => {
    const read = (path: string) => call('read_file', { path }, { result: `${path} read`, sideEffectFree: true });
    // A side-effecting call whose tool says its calls may run together joins the reads' group.
    const tag = { ...call('tag', { name: 't' }, { result: 'tagged' }), concurrent: true as const };
    const edit = call('edit', { path: 'w' }, { result: 'edited' });
    const calls = [read('a'), tag, read('b'), edit, read('c'), read('d')];
    const handle = await loop.start([use(...calls), finish('done')]);
    expect((await awaitResult(handle)).status).toBe('completed');
    // A group's calls start in any order (the reads as local activities, the tag as a task).
    const runs = loop.model.toolRuns(handle.workflowId).sort((x, y) => x.position! - y.position!);
    expect(runs.map((r) => [r.call.id, r.position])).toEqual(calls.map((c, i) => [c.id, i]));
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual(calls.map(resultOf));
  });
});
