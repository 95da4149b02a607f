import crypto from 'node:crypto';
import type http from 'node:http';

/** Addresses only this machine reaches: anything else needs `--allow-remote`, and matches POSTs by Host. */
export const LOOPBACK: ReadonlySet<string> = new Set(['127.0.0.1', '::1', 'localhost']);

/** The cookie the token travels in after the first page: HttpOnly (no script reads it), SameSite=Strict (no other site sends it). */
export const COOKIE = 'bmad_web';

/** A fresh access token: 32 random bytes, URL-safe. */
export function newToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** Constant-time comparison: how much of a guess was right never shows in the time an answer takes. */
export function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(token).digest();
  return crypto.timingSafeEqual(a, b);
}

/** The token a request carries: `?token=` or the cookie. */
export function tokenOf(req: http.IncomingMessage, url: URL): string | undefined {
  const query = url.searchParams.get('token');
  if (query !== null) return query;
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === COOKIE) return rest.join('=');
  }
  return undefined;
}

export function cookieFor(token: string): string {
  return `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}

/**
 * Whether a state-changing request comes from the page itself: its
 * `Origin` must be this server's own (`http://127.0.0.1:port`). Listening
 * on another address (`--allow-remote`), the page is reached by whatever
 * name the other machine uses, so there the Origin must match the request's
 * own Host. A browser always sends Origin on a POST; a missing one is
 * refused too.
 */
export function sameOrigin(req: http.IncomingMessage, origins: readonly string[], remote: boolean): boolean {
  const origin = req.headers.origin;
  if (typeof origin !== 'string') return false;
  if (origins.includes(origin)) return true;
  return remote && req.headers.host !== undefined && origin === `http://${req.headers.host}`;
}
