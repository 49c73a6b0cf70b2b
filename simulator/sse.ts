import type { MessageResponse, OutputBlock } from './protocol.js';

/**
 * A message as the stream of server-sent events the SDK's BetaMessageStream accumulates back into
 * the very same message: text and tool input arrive in pieces; a threshold compaction summary in
 * one delta, an on-demand one whole in `content_block_start` (as the docs describe each).
 */
export interface SseEvent {
  event: string;
  data: object;
}

export const formatSse = ({ event, data }: SseEvent): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** Every frame names its event: the SDK skips frames without an `event:` line. */
const frame = (type: string, fields: object = {}): SseEvent => ({ event: type, data: { type, ...fields } });

/** Up to `parts` pieces, so clients have to join deltas rather than take the first one. */
function pieces(text: string, parts = 3): string[] {
  const size = Math.max(1, Math.ceil(text.length / parts));
  const result: string[] = [];
  for (let at = 0; at < text.length; at += size) result.push(text.slice(at, at + size));
  return result;
}

function blockEvents(block: OutputBlock, index: number, compactionWhole: boolean): SseEvent[] {
  const delta = (fields: object) => frame('content_block_delta', { index, delta: fields });
  let start: object;
  let deltas: SseEvent[];
  switch (block.type) {
    case 'text':
      start = { type: 'text', text: '' };
      deltas = pieces(block.text).map((text) => delta({ type: 'text_delta', text }));
      break;
    case 'tool_use':
      start = { type: 'tool_use', id: block.id, name: block.name, input: {} };
      deltas = pieces(JSON.stringify(block.input)).map((json) =>
        delta({ type: 'input_json_delta', partial_json: json }),
      );
      break;
    case 'compaction':
      if (compactionWhole) {
        start = block;
        deltas = [];
        break;
      }
      // The SDK takes the signature from the start event only and assigns (not appends) the delta.
      start = { type: 'compaction', content: null, encrypted_content: null, signature: block.signature };
      deltas = [
        delta({ type: 'compaction_delta', content: block.content, encrypted_content: block.encrypted_content }),
      ];
      break;
  }
  return [
    frame('content_block_start', { index, content_block: start }),
    ...deltas,
    frame('content_block_stop', { index }),
  ];
}

export function messageEvents(message: MessageResponse, { compactionWhole = false } = {}): SseEvent[] {
  const { content, stop_reason, stop_sequence, stop_details, container, context_management, usage } = message;
  // Final values that only message_delta may carry start out empty, as on the real stream.
  const start = {
    ...message,
    content: [],
    stop_reason: null,
    context_management: null,
    usage: { ...usage, output_tokens: 0, iterations: null },
  };
  return [
    frame('message_start', { message: start }),
    frame('ping'),
    ...content.flatMap((block, index) => blockEvents(block, index, compactionWhole)),
    frame('message_delta', {
      delta: { stop_reason, stop_sequence, stop_details, container },
      usage: {
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens,
        cache_read_input_tokens: usage.cache_read_input_tokens,
        iterations: usage.iterations,
      },
      context_management,
    }),
    frame('message_stop'),
  ];
}
