import Anthropic, { type APIError } from '@anthropic-ai/sdk';
import { UNKNOWN_MODEL_ERROR } from '../common/contracts.js';

/** How a failed model call should be treated by Temporal's retry policy. */
export interface ModelErrorClass {
  /** The ApplicationFailure type; workflows and operators branch on it. */
  type: string;
  retryable: boolean;
  message: string;
  /** From `retry-after-ms` / `retry-after`, when the server said how long to wait. */
  nextRetryDelayMs?: number;
}

const NON_RETRYABLE: Record<number, string> = {
  400: 'ModelBadRequest',
  401: 'ModelAuthentication',
  402: 'ModelPaymentRequired',
  403: 'ModelPermissionDenied',
  404: 'ModelNotFound',
  413: 'ModelRequestTooLarge',
  422: 'ModelUnprocessable',
};
const RETRYABLE: Record<number, string> = {
  408: 'ModelRequestTimeout',
  409: 'ModelConflict',
  429: 'ModelRateLimited',
  529: 'ModelOverloaded',
};

/** Milliseconds to wait as the response's headers ask, or undefined when they do not say. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const valid = (ms: number) => (Number.isFinite(ms) && ms > 0 && ms <= 2 ** 31 - 1 ? ms : undefined);
  const ms = headers?.get('retry-after-ms');
  if (ms) return valid(Number(ms));
  const after = headers?.get('retry-after');
  if (!after) return undefined;
  const seconds = Number(after);
  return valid(Number.isNaN(seconds) ? Date.parse(after) - now : seconds * 1000);
}

/** `instanceof` alone would type the error's status and headers `any`. */
const isApiError = (err: unknown): err is APIError => err instanceof Anthropic.APIError;

/**
 * What the SDK's message stream says when its response ended before `message_stop` without a
 * transport error (the body closed early). Its wrapped transport errors (a socket cut mid-stream:
 * undici's "terminated") come as an AnthropicError with the original error as `cause`.
 */
const ENDED_EARLY = [
  'request ended without sending any chunks',
  'stream ended without producing a Message with role=assistant',
];
const isCutStream = (err: InstanceType<typeof Anthropic.AnthropicError>): boolean =>
  ENDED_EARLY.includes(err.message) || (err.cause instanceof Error && !(err.cause instanceof Anthropic.AnthropicError));

/**
 * Pure classification of anything the SDK throws: the retryable side follows the SDK's own
 * policy. `model` is the model the request named, for the one line an unknown model gets.
 */
export function classifyModelError(err: unknown, model?: string): ModelErrorClass {
  if (err instanceof Anthropic.APIConnectionTimeoutError) {
    return { type: 'ModelTimeout', retryable: true, message: err.message };
  }
  if (err instanceof Anthropic.APIUserAbortError) {
    return { type: 'ModelCallCancelled', retryable: false, message: err.message };
  }
  if (err instanceof Anthropic.APIConnectionError) {
    return { type: 'ModelConnection', retryable: true, message: err.message };
  }
  if (isApiError(err)) {
    const status = err.status;
    const code = err.errorCode ? ` (${err.errorCode})` : '';
    const message = `model API ${status ?? 'stream error'}${code}: ${err.apiMessage ?? err.message}`;
    const shouldRetry = err.headers?.get('x-should-retry');
    if (status === undefined) {
      // An `event: error` inside a stream: the server failed mid-reply, like a 5xx (its body is
      // typed as the HTTP error would be: overloaded_error mostly).
      const type = err.type === 'overloaded_error' ? 'ModelOverloaded' : 'ModelStreamError';
      return { type, retryable: true, message };
    }
    if (status === 404 && err.type === 'not_found_error' && model !== undefined) {
      const said = err.apiMessage ?? err.message;
      return {
        type: UNKNOWN_MODEL_ERROR,
        retryable: false,
        message: `the API does not know the model ${JSON.stringify(model)} (404 not_found_error: ${said}); check the run's model`,
      };
    }
    const nextRetryDelayMs = retryAfterMs(err.headers);
    const withDelay = (c: ModelErrorClass) => (nextRetryDelayMs === undefined ? c : { ...c, nextRetryDelayMs });
    if (shouldRetry === 'false')
      return { type: NON_RETRYABLE[status] ?? `ModelHttp${status}`, retryable: false, message };
    if (RETRYABLE[status]) return withDelay({ type: RETRYABLE[status], retryable: true, message });
    if (status >= 500) return withDelay({ type: 'ModelServerError', retryable: true, message });
    if (shouldRetry === 'true') return withDelay({ type: `ModelHttp${status}`, retryable: true, message });
    return { type: NON_RETRYABLE[status] ?? `ModelHttp${status}`, retryable: false, message };
  }
  if (err instanceof Anthropic.AnthropicError && isCutStream(err)) {
    // The connection closed mid-reply: nothing of the reply is kept, and the request is sent again.
    return { type: 'ModelStreamCut', retryable: true, message: `the reply's stream was cut off: ${err.message}` };
  }
  const message = err instanceof Error ? err.message : String(err);
  // Anything else from the SDK (bad parameters, a refused configuration) will fail the same way again.
  return { type: 'ModelClientError', retryable: false, message };
}
