import type Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { readState } from '../../common/prompt-format.js';
import { initialState, type AgentState } from '../../common/state.js';
import { layoutRequest, MAX_BREAKPOINTS, type LayoutInput } from '../../activities/request-layout.js';
import { blocksInOrder, breakpointsOf, prefixBytes, type RequestBody } from '../helpers/request-capture.js';

type MessageParam = Anthropic.Beta.Messages.BetaMessageParam;

const tools = [
  { name: 'read_file', description: 'Reads a file', input_schema: { type: 'object' as const, properties: {} } },
  { name: 'update_state', description: 'Updates the state', input_schema: { type: 'object' as const, properties: {} } },
];
const stateAt = (n: number): AgentState => ({
  ...initialState(),
  itemsDone: Array.from({ length: n }, (_, i) => `f${i}`),
});
const base = (over: Partial<LayoutInput>): LayoutInput => ({
  tools,
  systemPrompt: 'You are careful.',
  task: 'Audit the files.',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Begin.' }] }],
  state: stateAt(0),
  promptCache: 'on',
  ...over,
});
const body = (input: LayoutInput) => layoutRequest(input) as unknown as RequestBody;

/** The transcript after `turns` turns: each a reply with `calls` tool calls, answered by as many results. */
function transcript(turns: number, calls = 2): MessageParam[] {
  const messages: MessageParam[] = [{ role: 'user', content: [{ type: 'text', text: 'Begin.' }] }];
  for (let t = 0; t < turns; t++) {
    const ids = Array.from({ length: calls }, (_, c) => `toolu_${t}_${c}`);
    messages.push({
      role: 'assistant',
      content: [
        { type: 'text', text: `turn ${t}` },
        ...ids.map((id) => ({ type: 'tool_use' as const, id, name: 'read_file', input: { path: id } })),
      ],
    });
    messages.push({
      role: 'user',
      content: ids.map((id) => ({ type: 'tool_result' as const, tool_use_id: id, content: `contents of ${id}` })),
    });
  }
  return messages;
}

const lastBlockOf = (b: RequestBody) => {
  const i = b.messages.length - 1;
  return { message: b.messages[i]!, where: `messages.${i}.content.${b.messages[i]!.content.length - 1}` };
};

describe('layoutRequest: the request laid out for the prompt cache', () => {
  it('the system prompt holds instructions and task only; the state is the last block, after the last breakpoint', () => {
    const b = body(base({ messages: transcript(3), state: stateAt(3) }));
    expect(b.system).toEqual([
      {
        type: 'text',
        text: 'You are careful.\n\n<task>\nAudit the files.\n</task>',
        cache_control: { type: 'ephemeral', ttl: '1h' },
      },
    ]);
    expect(b.tools).toEqual(tools);
    const last = lastBlockOf(b);
    const stateBlock = (last.message.content as Record<string, unknown>[]).at(-1)!;
    expect(readState(stateBlock.text as string)).toEqual(stateAt(3));
    expect(stateBlock.cache_control).toBeUndefined();
    const points = breakpointsOf(b);
    // The stable prefix, the user message the previous call wrote, and the newest one, just before the state.
    expect(points.map((p) => [p.where, p.ttl])).toEqual([
      ['system.0', '1h'],
      ['messages.4.content.1', '5m'],
      ['messages.6.content.1', '5m'],
    ]);
  });

  it('two consecutive turns share the prefix, byte for byte, up to the breakpoint the first wrote', () => {
    for (const calls of [1, 3, 15]) {
      for (let turn = 0; turn < 6; turn++) {
        const before = body(base({ messages: transcript(turn, calls), state: stateAt(turn) }));
        const after = body(base({ messages: transcript(turn + 1, calls), state: stateAt(turn + 1) }));
        const written = breakpointsOf(before).at(-1)!;
        expect(prefixBytes(after, written.where)).toBe(prefixBytes(before, written.where));
        // And the next call marks that very block, so it reads it whatever the lookback.
        expect(breakpointsOf(after).map((p) => p.where)).toContain(written.where);
        // Tools and system are the same bytes, breakpoints included.
        expect(JSON.stringify([after.tools, after.system])).toBe(JSON.stringify([before.tools, before.system]));
      }
    }
  });

  it('never more than 4 breakpoints, longer TTLs first, and the state after all of them', () => {
    const compacted: MessageParam[] = [
      {
        role: 'assistant',
        content: [
          { type: 'compaction', content: 'summary', signature: 'sig' },
          { type: 'tool_use', id: 'toolu_c', name: 'read_file', input: {} },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_c', content: 'x' }] },
      ...transcript(4).slice(1),
    ];
    for (const messages of [transcript(0), transcript(1), transcript(40, 30), compacted, compacted.slice(0, 2)]) {
      const b = body(base({ messages }));
      const points = breakpointsOf(b);
      expect(points.length).toBeLessThanOrEqual(MAX_BREAKPOINTS);
      const ttls = points.map((p) => p.ttl);
      expect(ttls).toEqual([...ttls].sort((x, y) => (x === y ? 0 : x === '1h' ? -1 : 1)));
      const blocks = blocksInOrder(b);
      const statePositions = blocks.flatMap(({ block }, i) =>
        readState(typeof block.text === 'string' ? block.text : '') ? [i] : [],
      );
      expect(statePositions).toEqual([blocks.length - 1]);
      expect(points.at(-1)!.position).toBeLessThan(statePositions[0]!);
    }
    // After a compaction the summary is cached with the stable prefix.
    expect(breakpointsOf(body(base({ messages: compacted }))).map((p) => [p.where, p.ttl])).toEqual([
      ['system.0', '1h'],
      ['messages.0.content.0', '1h'],
      ['messages.7.content.1', '5m'],
      ['messages.9.content.1', '5m'],
    ]);
  });

  it('a continued reply shows the state in the user message before it; a continued summary in a message of its own', () => {
    const continued = [
      ...transcript(2),
      { role: 'assistant' as const, content: [{ type: 'text' as const, text: 'part' }] },
    ];
    const b = body(base({ messages: continued }));
    expect(b.messages).toHaveLength(continued.length);
    expect(b.messages.at(-1)).toEqual(continued.at(-1));
    const user = b.messages.at(-2)!.content as Record<string, unknown>[];
    expect(readState(user.at(-1)!.text as string)).toEqual(stateAt(0));
    expect(user.at(-2)!.cache_control).toEqual({ type: 'ephemeral', ttl: '5m' });

    const summary: MessageParam[] = [
      { role: 'assistant', content: [{ type: 'compaction', content: 's', signature: 'x' }] },
    ];
    const s = body(base({ messages: summary }));
    expect(s.messages.map((m) => m.role)).toEqual(['assistant', 'user']);
    expect(readState((s.messages[1]!.content[0] as { text: string }).text)).toEqual(stateAt(0));
    expect(breakpointsOf(s).map((p) => p.where)).toEqual(['system.0', 'messages.0.content.0']);
  });

  it("'off' sets no breakpoint; 'system-state' renders the state into the system prompt, all at 5m; no state, no block", () => {
    const off = body(base({ messages: transcript(2), promptCache: 'off' }));
    expect(breakpointsOf(off)).toEqual([]);
    expect(readState((off.messages.at(-1)!.content.at(-1) as { text: string }).text)).toEqual(stateAt(0));

    const control = body(base({ messages: transcript(2), state: stateAt(2), promptCache: 'system-state' }));
    expect(readState((control.system as { text: string }[])[0]!.text)).toEqual(stateAt(2));
    expect(JSON.stringify(control.messages)).not.toContain('agent_state');
    expect(new Set(breakpointsOf(control).map((p) => p.ttl))).toEqual(new Set(['5m']));

    const stateless = body(base({ messages: transcript(2), state: null }));
    expect(JSON.stringify(stateless)).not.toContain('agent_state');
    expect(breakpointsOf(stateless)).toHaveLength(3);
  });

  it('leaves the stored messages as they were, and lays out a string content as the same text block everywhere', () => {
    const messages = transcript(3);
    const copy = structuredClone(messages);
    layoutRequest(base({ messages }));
    expect(messages).toEqual(copy);

    const first: MessageParam = { role: 'user', content: 'Begin.' };
    const one = body(base({ messages: [first] }));
    const later = body(base({ messages: [first, ...transcript(2).slice(1)] }));
    expect(prefixBytes(later, 'messages.0.content.0')).toBe(prefixBytes(one, 'messages.0.content.0'));
  });
});
