import { describe, expect, it } from 'vitest';
import type Anthropic from '@anthropic-ai/sdk';
import { cutCallError, keepsReply, refusalDetails, refuseCalls } from '../../activities/model.js';
import { appendUser } from '../../activities/transcript.js';
import type { TranscriptNode } from '../../store/transcript.js';

type Block = Anthropic.Beta.Messages.BetaContentBlock;
const text = (t: string) => ({ type: 'text', text: t, citations: null }) as Block;
const use = (id: string, input: unknown) => ({ type: 'tool_use', id, name: 'write_file', input }) as Block;

describe('what of a reply is kept and run', () => {
  it('at max_tokens the last block, a tool call cut while written, is refused and emptied; the calls before it run', () => {
    const content = [
      text('writing'),
      use('a', { path: 'a', content: 'whole' }),
      use('b', { path: 'b', content: 'hal' }),
    ];
    const { content: kept, refused } = refuseCalls('max_tokens', content);
    expect([...refused]).toEqual([[2, cutCallError('write_file')]]);
    expect(kept[1]).toBe(content[1]);
    expect(kept[2]).toMatchObject({ id: 'b', input: {} });
    // A reply that stopped for any other reason has no cut call; nor one whose last block is text.
    expect(refuseCalls('tool_use', content).refused.size).toBe(0);
    expect(refuseCalls('max_tokens', [use('a', {}), text('and then')]).refused.size).toBe(0);
  });

  it('a refusal, a context too large and an empty reply are not written; anything else is', () => {
    expect(keepsReply('refusal', [text('I cannot')])).toBe(false);
    expect(keepsReply('model_context_window_exceeded', [])).toBe(false);
    expect(keepsReply('pause_turn', [])).toBe(false);
    expect(keepsReply('end_turn', [])).toBe(false);
    expect(keepsReply('pause_turn', [text('searching')])).toBe(true);
    expect(keepsReply('max_tokens', [text('cut')])).toBe(true);
  });

  it("a refusal's stop_details: category and explanation on one line, nulls when absent, no fallback token", () => {
    const details = {
      type: 'refusal',
      category: 'cyber',
      explanation: 'Could enable\n  malware.',
      fallback_credit_token: 'tok_secret',
    } as unknown as Anthropic.Beta.Messages.BetaRefusalStopDetails;
    expect(refusalDetails(details)).toEqual({ category: 'cyber', explanation: 'Could enable malware.' });
    expect(refusalDetails(null)).toEqual({ category: null, explanation: null });
  });

  it('a user message after a user message joins it (the reply between was dropped); after a reply it follows', () => {
    const user: TranscriptNode = {
      prev: 'sha256:p',
      message: { role: 'user', content: [{ type: 'text', text: 'A' }] },
    };
    const more = [{ type: 'text' as const, text: 'B' }];
    expect(appendUser(user, 'sha256:u', more)).toEqual({
      prev: 'sha256:p',
      message: {
        role: 'user',
        content: [
          { type: 'text', text: 'A' },
          { type: 'text', text: 'B' },
        ],
      },
    });
    const reply: TranscriptNode = { prev: 'sha256:u', message: { role: 'assistant', content: [] } };
    expect(appendUser(reply, 'sha256:r', more)).toEqual({ prev: 'sha256:r', message: { role: 'user', content: more } });
    expect(appendUser(null, null, more)).toEqual({ prev: null, message: { role: 'user', content: more } });
  });
});
