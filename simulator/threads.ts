import { invalidRequest, SimError } from './errors.js';
import { isRecord, type MessageResponse } from './protocol.js';

/**
 * Server-held conversations: the `thread` parameter (beta `message-threads-2026-08-12`), which the
 * SDK's BetaMessageThread and tool runner send. `create` keeps the conversation under the reply's
 * id; `continue` sends only the new messages (and no system or tools), which go after the kept ones.
 */
export const THREADS_BETA = 'message-threads-2026-08-12';

interface Kept {
  system: unknown;
  tools: unknown;
  messages: unknown[];
}

export class ThreadStore {
  #byMessage = new Map<string, Kept>();
  #continued = new Set<string>();

  /** The request as the model sees it: a `continue` gets the kept system, tools and messages first. */
  expand(body: unknown, betas: Set<string>): unknown {
    if (!isRecord(body) || body.thread === undefined || body.thread === null) return body;
    const { thread } = body;
    if (!betas.has(THREADS_BETA)) throw invalidRequest(`thread: requires the anthropic-beta header "${THREADS_BETA}"`);
    if (!isRecord(thread)) throw invalidRequest('thread: must be an object');
    if (thread.type === 'create') return body;
    if (thread.type !== 'continue' || typeof thread.previous_message_id !== 'string') {
      throw invalidRequest('thread: must be {"type": "create"} or {"type": "continue", "previous_message_id": ...}');
    }
    const id = thread.previous_message_id;
    const kept = this.#byMessage.get(id);
    if (!kept) throw new SimError(404, `thread: no thread holds message ${id}`, 'thread_not_found');
    if (this.#continued.has(id)) {
      throw invalidRequest(`thread: message ${id} was already continued`, 'thread_already_continued');
    }
    const messages: unknown[] = Array.isArray(body.messages) ? body.messages : [];
    return { ...body, system: kept.system, tools: kept.tools, messages: [...kept.messages, ...messages] };
  }

  /** Keeps a threaded request's conversation, with its reply, under the reply's id. */
  record(body: unknown, reply: MessageResponse): void {
    if (!isRecord(body) || !isRecord(body.thread)) return;
    if (body.thread.type === 'continue') this.#continued.add(String(body.thread.previous_message_id));
    const messages = [...(body.messages as unknown[]), { role: 'assistant', content: reply.content }];
    this.#byMessage.set(reply.id, { system: body.system, tools: body.tools, messages });
  }
}
