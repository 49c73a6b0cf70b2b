import { describe, expect, it } from 'vitest';
import { awaitResult } from '../../client/export.js';
import { answer } from '../../client/escalations.js';
import { progressQuery } from '../../common/messages.js';
import {
  call,
  FAST,
  finish,
  finishCall,
  LOOP_TEXT,
  opened,
  reply,
  resultOf,
  say,
  textBlock,
  use,
  useLoopEnv,
} from '../helpers/scripted-model.js';

const loop = useLoopEnv();

describe.concurrent('stop reasons', FAST, () => {
  it('tool_use: the calls run in order, and their results, in order, are the next user message on the head the model returned', async () => {
    const a = call('read_file', { path: 'a' }, { result: 'A' });
    const b = call('list_files', {}, { result: 'no such dir', isError: true });
    const handle = await loop.start([use(a, b), finish('done')]);
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'done' });
    expect(result.counters).toMatchObject({ turn: 2, modelCalls: 2, toolCalls: 3, toolErrors: 1, idleReplies: 0 });
    expect(loop.model.toolRuns(handle.workflowId).map((r) => [r.turn, r.call.name])).toEqual([
      [1, 'read_file'],
      [1, 'list_files'],
    ]);
    const [first, second] = loop.model.sent(handle.workflowId);
    expect(first!.input).toMatchObject({ turn: 1, head: null, append: [textBlock(LOOP_TEXT.begin)] });
    expect(second!.input).toMatchObject({ turn: 2, head: first!.reply!.head, append: [resultOf(a), resultOf(b)] });
    // Once stored, the instructions travel by reference only.
    expect(second!.input.instructions).toEqual({ ref: first!.reply!.instructionsRef });
  });

  it('end_turn with tool calls runs them like tool_use and is not an idle reply', async () => {
    const a = call('read_file', { path: 'a' });
    const handle = await loop.start([reply({ stopReason: 'end_turn', text: 'reading', calls: [a] }), finish('done')], {
      maxIdleReplies: 1,
    });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'done' });
    expect(result.counters.idleReplies).toBe(0);
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([resultOf(a)]);
  });

  it('end_turn without tool calls is nudged; a tool call resets the count; maxIdleReplies idle replies in a row stop the run', async () => {
    const a = call('read_file', { path: 'a' });
    const handle = await loop.start([say('thinking'), use(a), say('still thinking'), say('and more')], {
      maxIdleReplies: 2,
    });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({
      status: 'stopped',
      reason: 'the model replied 2 times in a row without using a tool',
    });
    expect(result.counters).toMatchObject({ turn: 4, idleReplies: 2 });
    expect((await handle.query(progressQuery)).lastText).toBe('and more');
    const appends = loop.model.sent(handle.workflowId).map((s) => s.input.append);
    expect(appends).toEqual([
      [textBlock(LOOP_TEXT.begin)],
      [textBlock(LOOP_TEXT.nudge)],
      [resultOf(a)],
      [textBlock(LOOP_TEXT.nudge)],
    ]);
  });

  it('stop_sequence is handled as end_turn: nudged without tool calls, its calls run with them', async () => {
    const handle = await loop.start([
      say('halted', 'stop_sequence'),
      reply({ stopReason: 'stop_sequence', calls: [finishCall('done')] }),
    ]);
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'done' });
    expect(result.counters).toMatchObject({ turn: 2, idleReplies: 0 });
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([textBlock(LOOP_TEXT.nudge)]);
  });

  it('max_tokens without tool calls: the cut-off note, not the nudge, is sent, and the reply counts as idle', async () => {
    const handle = await loop.start([say('a very long', 'max_tokens'), finish('done')], { maxIdleReplies: 2 });
    const result = await awaitResult(handle);
    expect(result.status).toBe('completed');
    const sent = loop.model.sent(handle.workflowId);
    expect(sent[1]!.input).toMatchObject({ turn: 2, append: [textBlock(LOOP_TEXT.cutOff)] });
  });

  it('max_tokens with tool calls: the calls run, and the cut-off note follows their results', async () => {
    const a = call('read_file', { path: 'a' });
    const handle = await loop.start([reply({ stopReason: 'max_tokens', calls: [a] }), finish('done')]);
    expect((await awaitResult(handle)).status).toBe('completed');
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([resultOf(a), textBlock(LOOP_TEXT.cutOff)]);
    // A cut-off reply is not remembered past its turn: the next results carry no note.
    const b = call('read_file', { path: 'b' });
    const again = await loop.start([reply({ stopReason: 'max_tokens', calls: [a] }), use(b), finish('done')]);
    expect((await awaitResult(again)).status).toBe('completed');
    expect(loop.model.sent(again.workflowId)[2]!.input.append).toEqual([resultOf(b)]);
  });

  it('pause_turn continues the same turn: the next call appends nothing and goes on from the head it got', async () => {
    const handle = await loop.start([reply({ stopReason: 'pause_turn', text: 'searching' }), finish('done')]);
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'done' });
    expect(result.counters).toMatchObject({ turn: 1, modelCalls: 2, idleReplies: 0 });
    const [first, second] = loop.model.sent(handle.workflowId);
    expect(second!.input).toMatchObject({ turn: 1, append: null, head: first!.reply!.head });
  });

  it('a compaction stop continues the same turn, is counted and logged, and the run continues as new after the turn', async () => {
    const a = call('read_file', { path: 'a' });
    const usage = { inputTokens: 3_000, outputTokens: 20, compaction: { inputTokens: 160_000, outputTokens: 900 } };
    const handle = await loop.start([
      reply({ stopReason: 'compaction', usage, compaction: { summarized: true, summaryChars: 1_234 } }),
      use(a),
      finish('done'),
    ]);
    const result = await awaitResult(handle);
    expect(result).toMatchObject({
      status: 'completed',
      report: 'done',
      chain: { runNumber: 2, turnsAtStart: 1, compactionsAtStart: 1 },
    });
    expect(result.counters).toMatchObject({
      turn: 2,
      modelCalls: 3,
      compactions: 1,
      compactionInputTokens: 160_000,
      compactionOutputTokens: 900,
    });
    expect(result.compactions).toEqual([
      { turn: 1, inputTokensBefore: 160_000, inputTokensAfter: 3_000, summaryChars: 1_234 },
    ]);
    const sent = loop.model.sent(handle.workflowId);
    expect(sent[1]!.input).toMatchObject({ turn: 1, append: null, head: sent[0]!.reply!.head });
    // The continued run picks up the turn's results from the carried memory.
    expect(sent[2]!.input).toMatchObject({ turn: 2, append: [resultOf(a)], head: sent[1]!.reply!.head });
  });

  it('at most MAX_CONTINUATIONS (4) calls continue one turn; a fifth pause fails the run', async () => {
    const pause = reply({ stopReason: 'pause_turn' });
    const handle = await loop.start([pause, pause, pause, pause, pause, pause]);
    const result = await awaitResult(handle);
    expect(result).toMatchObject({
      status: 'failed',
      reason: 'the turn was still paused (stop reason "pause_turn") after 4 continuations',
    });
    const sent = loop.model.sent(handle.workflowId);
    expect(sent).toHaveLength(5);
    expect(sent.map((s) => s.input.append === null)).toEqual([false, true, true, true, true]);
  });

  it('refusal: the refused turn is dropped, as the SDK drops it; the person is told why; a reply goes to the model, none of the refused calls', async () => {
    const a = call('delete_everything');
    const refusal = { category: 'cyber', explanation: 'The request could enable malware development.' };
    const handle = await loop.start([
      reply({ stopReason: 'refusal', text: 'I will not', calls: [a], refusal }),
      finish('done'),
    ]);
    const escalation = await opened(handle, 'refusal');
    expect(escalation).toMatchObject({
      reason: 'the model refused to continue (category: cyber)',
      question:
        'The refused turn was dropped from the transcript. The API explains: The request could enable malware ' +
        'development. Reply with guidance for the model, or stop the run.',
    });
    await answer(loop.env.client, handle.workflowId, 'reply', { message: 'it is a fixture, go on' });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'done' });
    expect(result.escalations.map((e) => [e.kind, e.outcome.decision])).toEqual([['refusal', 'reply']]);
    expect(loop.model.toolRuns(handle.workflowId)).toEqual([]);
    const [first, second] = loop.model.sent(handle.workflowId);
    // The model activity left the refused reply out (its head); only the person's words follow it.
    expect(second!.input).toMatchObject({
      turn: 2,
      head: first!.reply!.head,
      append: [textBlock('A person says: it is a fixture, go on')],
    });
  });

  it('refusal without stop_details says no more than that', async () => {
    const handle = await loop.start([reply({ stopReason: 'refusal' }), finish('done')]);
    expect(await opened(handle, 'refusal')).toMatchObject({
      reason: 'the model refused to continue',
      question: 'The refused turn was dropped from the transcript. Reply with guidance for the model, or stop the run.',
    });
    await answer(loop.env.client, handle.workflowId, 'stop', {});
    expect((await awaitResult(handle)).status).toBe('stopped');
  });

  it('refusal with onRefusal stop ends the run without asking, naming the category', async () => {
    const handle = await loop.start(
      [reply({ stopReason: 'refusal', refusal: { category: 'bio', explanation: null } }), finish('never')],
      { escalation: { onRefusal: 'stop' } },
    );
    const result = await awaitResult(handle);
    expect(result).toMatchObject({
      status: 'stopped',
      reason: 'the model refused to continue (category: bio)',
      escalations: [],
    });
    expect(loop.model.sent(handle.workflowId)).toHaveLength(1);
  });

  it('model_context_window_exceeded compacts on demand and asks again, within the same turn', async () => {
    const handle = await loop.start([
      reply({ stopReason: 'model_context_window_exceeded', usage: { inputTokens: 0, outputTokens: 0 } }),
      reply({
        stopReason: 'compaction',
        compaction: { summarized: true, summaryChars: 500, tokensAfter: 2_000 },
        usage: { inputTokens: 190_000, outputTokens: 700 },
      }),
      finish('done'),
    ]);
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'done' });
    expect(result.counters).toMatchObject({ turn: 1, compactions: 1 });
    expect(result.compactions).toEqual([{ turn: 1, inputTokensBefore: 0, inputTokensAfter: 2_000, summaryChars: 500 }]);
    const sent = loop.model.sent(handle.workflowId);
    expect(sent.map((s) => [s.activity, s.input.turn])).toEqual([
      ['callModel', 1],
      ['compactTranscript', 1],
      ['callModel', 1],
    ]);
    expect(sent[1]!.input).toMatchObject({ append: null, head: sent[0]!.reply!.head });
    expect(sent[2]!.input).toMatchObject({ append: null, head: sent[1]!.reply!.head });
  });

  it('model_context_window_exceeded again after the on-demand compaction fails the run', async () => {
    const exceeded = reply({ stopReason: 'model_context_window_exceeded' });
    const handle = await loop.start([
      exceeded,
      reply({ stopReason: 'compaction', compaction: { summarized: true, summaryChars: 500 } }),
      exceeded,
    ]);
    const result = await awaitResult(handle);
    expect(result).toMatchObject({
      status: 'failed',
      reason: 'the context window was exceeded even after compaction; lower the compaction trigger',
    });
    expect(loop.model.sent(handle.workflowId).map((s) => s.activity)).toEqual([
      'callModel',
      'compactTranscript',
      'callModel',
    ]);
  });

  it('an unknown stop reason fails the run and names it', async () => {
    const handle = await loop.start([reply({ stopReason: 'something_new', calls: [call('read_file')] })]);
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'failed', reason: 'unexpected stop reason "something_new"' });
    expect(loop.model.toolRuns(handle.workflowId)).toEqual([]);
  });
});
