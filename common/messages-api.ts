/**
 * Names and limits of the Anthropic Messages API that longhaul relies on, declared once: the
 * model activities send them and the simulator enforces them.
 */

/** Threshold compaction: the `compact_20260112` context-management edit, behind this beta. */
export const COMPACTION_BETA = 'compact-2026-01-12';
export const COMPACTION_EDIT = 'compact_20260112' as const;
/** On-demand compaction: the `compaction: { type: 'summarize' }` request parameter, behind this beta. */
export const SUMMARIZE_BETA = 'compact-2026-09-04';
/** The API refuses an input-token trigger below this. */
export const MIN_COMPACTION_TRIGGER = 50_000;
/** The trigger the API applies when an edit names none. */
export const DEFAULT_COMPACTION_TRIGGER = 150_000;
/** The longest compaction instructions the API takes. */
export const MAX_COMPACTION_INSTRUCTIONS = 16_384;
