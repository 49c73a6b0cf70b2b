/**
 * The console's request checks, pure so that each is unit-tested: a token on every request, a
 * Host header that names this machine (a DNS-rebinding page reaches us under its own name), and
 * answers only from the console's own page (a cross-site form or fetch cannot send them).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The cookie that `?token=` sets: HttpOnly (no script reads it), SameSite=Strict (no cross-site request carries it). */
export const TOKEN_COOKIE = 'longhaul-console';
/** The header an answer carries: the CSRF token of the session, which only the console's own page can read. */
export const CSRF_HEADER = 'x-longhaul-csrf';
/** Shorter tokens are refused: a guessable token would open every run's answers to anyone on the machine. */
export const MIN_TOKEN_CHARS = 16;

export const newConsoleToken = (): string => randomBytes(32).toString('base64url');

/** Equal without saying where they differ: both are hashed first, so neither length nor prefix leaks. */
export function sameSecret(given: string, secret: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(secret));
}

/** The page's CSRF token: derived from the console token, so it needs no state, and useless without the cookie. */
export const csrfToken = (token: string): string => createHmac('sha256', token).update('csrf').digest('base64url');

/** A cookie's value from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/** The request's credential: `Authorization: Bearer <token>`, else the cookie. */
export function credentialOf(headers: { authorization?: string | undefined; cookie?: string | undefined }) {
  const bearer = /^Bearer (\S+)$/.exec(headers.authorization ?? '');
  return bearer ? bearer[1] : cookieValue(headers.cookie, TOKEN_COOKIE);
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether a Host header names the console: a loopback name (any port), or the address it was
 * told to bind to. A page on evil.example whose name was rebound to 127.0.0.1 sends
 * `Host: evil.example` and is refused.
 */
export function hostAllowed(host: string | undefined, boundHost: string, port: number): boolean {
  if (!host) return false;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host.toLowerCase());
  if (!match) return false;
  const [, name, givenPort] = match;
  if (givenPort !== undefined && Number(givenPort) !== port) return false;
  const bound = boundHost.includes(':') && !boundHost.startsWith('[') ? `[${boundHost}]` : boundHost;
  return LOOPBACK_NAMES.has(name!) || (!['0.0.0.0', '[::]'].includes(bound) && name === bound.toLowerCase());
}

/**
 * Why a state-changing request is refused, or null: it must come from the console's own page.
 * An Origin (browsers send it on every POST) must be this Host's; Sec-Fetch-Site, when sent,
 * must be same-origin; and the CSRF header must hold the session's CSRF token, which a page of
 * another origin cannot read (the console answers no CORS).
 */
export function crossSiteProblem(
  headers: {
    origin?: string | undefined;
    host?: string | undefined;
    'sec-fetch-site'?: string | undefined;
    csrf?: string | undefined;
  },
  token: string,
): string | null {
  if (headers.origin !== undefined && headers.origin !== `http://${headers.host}`)
    return `requests from ${headers.origin} are refused: answer from the console's own page`;
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return `a ${site} request is refused: answer from the console's own page`;
  if (!headers.csrf || !sameSecret(headers.csrf, csrfToken(token)))
    return `the ${CSRF_HEADER} header is missing or wrong: answer from the console's own page`;
  return null;
}
