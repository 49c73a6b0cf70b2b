import { defineSearchAttributeKey } from '@temporalio/common';

/**
 * Search attributes, so that `temporal workflow list --query "LonghaulStatus='awaiting_human'"`
 * and the Web UI find runs that wait on a person. The worker registers them at start.
 */
export const LONGHAUL_STATUS = defineSearchAttributeKey('LonghaulStatus', 'KEYWORD');
export const LONGHAUL_ESCALATION = defineSearchAttributeKey('LonghaulEscalation', 'KEYWORD');
export const SEARCH_ATTRIBUTES = [LONGHAUL_STATUS, LONGHAUL_ESCALATION];
