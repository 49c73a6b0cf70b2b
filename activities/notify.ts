import { ApplicationFailure } from '@temporalio/activity';
import type { EscalationNotice } from '../common/contracts.js';

const WEBHOOK_TIMEOUT_MS = 10_000;

/** POSTs the escalation as JSON. A 4xx other than 408/429 will not get better: no retry. */
export async function notifyEscalation({ url, workflowId, escalation }: EscalationNotice): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'longhaul.escalation.opened', workflowId, escalation }),
    signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
  });
  if (response.ok) return;
  const permanent = response.status >= 400 && response.status < 500 && ![408, 429].includes(response.status);
  throw ApplicationFailure.create({
    type: 'WebhookRejected',
    message: `webhook ${url} answered ${response.status}`,
    nonRetryable: permanent,
  });
}
