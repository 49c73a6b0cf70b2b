import { randomBytes } from 'node:crypto';

/**
 * Ids as the real API gives them: random, so two identical requests get different request,
 * message and tool_use ids. Nothing may rely on the simulator repeating an id.
 */
const randomId = (prefix: string): string => `${prefix}_01${randomBytes(12).toString('base64url').slice(0, 22)}`;

export const requestId = (): string => randomId('req');

export const messageId = (): string => randomId('msg');

export const toolUseId = (): string => randomId('toolu');
