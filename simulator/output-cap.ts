import type { OutputBlock } from './protocol.js';
import { outputTokens } from './tokens.js';

/**
 * Generation stops at `max_tokens`, as on the real API: the text that fits is kept, cut where the
 * budget ends, and a tool call that does not fit whole is dropped (its input would be incomplete,
 * and a client must not run it). `truncated` means the reply's stop_reason is `max_tokens`.
 */
export function capOutput(blocks: OutputBlock[], maxTokens: number): { blocks: OutputBlock[]; truncated: boolean } {
  if (outputTokens(blocks) <= maxTokens) return { blocks, truncated: false };
  const kept: OutputBlock[] = [];
  for (const block of blocks) {
    if (outputTokens([...kept, block]) <= maxTokens) {
      kept.push(block);
      continue;
    }
    if (block.type === 'text') {
      const cut = longestFittingText(kept, block.text, maxTokens);
      if (cut) kept.push({ type: 'text', text: cut });
    }
    break;
  }
  return { blocks: kept, truncated: true };
}

/** The longest prefix of `text` that, as a text block after `kept`, stays within the budget. */
function longestFittingText(kept: OutputBlock[], text: string, maxTokens: number): string {
  const fits = (length: number) => outputTokens([...kept, { type: 'text', text: text.slice(0, length) }]) <= maxTokens;
  if (!fits(0)) return '';
  let [low, high] = [0, text.length];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid - 1;
  }
  return text.slice(0, low);
}
