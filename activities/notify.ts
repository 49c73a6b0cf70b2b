import { ApplicationFailure } from '@temporalio/activity';
import { webhookProblem } from '../common/admission.js';
import type { EscalationNotice } from '../common/contracts.js';

const WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * POSTs the escalation as JSON, only to an origin on the worker's allow-list (checked again here:
 * admission is not the only way a URL reaches this), and never follows a redirect, which would
 * re-send the escalation to a host nobody allowed. A 3xx, or a 4xx other than 408/429, will not
 * get better: no retry. Errors name the origin, not the URL, whose path often holds the hook's secret.
 */
export function createNotifier(allow: readonly string[]) {
  return async function notifyEscalation({ url, workflowId, escalation }: EscalationNotice): Promise<void> {
    const problem = webhookProblem(url, allow);
    if (problem) throw ApplicationFailure.nonRetryable(`webhook ${problem}`, 'WebhookRefused');
    const origin = new URL(url).origin;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'longhaul.escalation.opened', workflowId, escalation }),
      redirect: 'manual',
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    if (response.ok) return;
    if (response.status >= 300 && response.status < 400) {
      throw ApplicationFailure.nonRetryable(
        `webhook at ${origin} answered ${response.status}, a redirect; redirects are not followed`,
        'WebhookRedirected',
      );
    }
    const permanent = response.status >= 400 && response.status < 500 && ![408, 429].includes(response.status);
    throw ApplicationFailure.create({
      type: 'WebhookRejected',
      message: `webhook at ${origin} answered ${response.status}`,
      nonRetryable: permanent,
    });
  };
}
