import { initialCounters } from '../../common/counters.js';
import type { Progress } from '../../common/messages.js';

/** A run's progress at its start, with the fields a test sets: for the formatters and the export. */
export const progress = (over: Partial<Progress> = {}, counters: Partial<Progress['counters']> = {}): Progress => ({
  status: 'running',
  counters: { ...initialCounters(), ...counters },
  maxTurns: 500,
  compactions: [],
  escalation: null,
  escalations: [],
  ignoredResponses: [],
  chain: { runNumber: 1, turnsAtStart: 0, compactionsAtStart: 0 },
  lastText: '',
  head: null,
  instructionsRef: null,
  ...over,
});
