/**
 * Admin sessions of the web app: a stateless, signed cookie (`spindle_session`) that expires, and its CSRF
 * token, bound to it by an HMAC. The signing key is `<data dir>/session-key` (0600, made on first start), so
 * gateways sharing a data dir accept each other's sessions. A request authenticated by the cookie (not by
 * `Authorization`) that changes something must send `X-CSRF-Token`, and an `Origin` naming this gateway when
 * it sends one at all.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { fastifyCookie } from '@fastify/cookie';
import { readOrCreatePrivate } from './data-dir.ts';
import { ForbiddenError, UnauthorizedError } from './errors.ts';

/** The cookie's name. */
export const SESSION_COOKIE = 'spindle_session';
/** How long a session lasts (the cookie's Max-Age). */
export const SESSION_TTL_MS = 12 * 3600 * 1000;
/** Logged-out sessions remembered at most (until they expire); past it the oldest are forgotten first. */
const MAX_REVOKED = 10_000;
/** Methods that change nothing: no CSRF token needed. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The key that signs sessions: `<dataDir>/session-key`, 32 random bytes written (0600) on first start. */
export async function loadSessionKey(dataDir: string): Promise<Buffer> {
  const file = join(dataDir, 'session-key');
  const key = Buffer.from(await readOrCreatePrivate(file, () => randomBytes(32).toString('base64url')), 'base64url');
  if (key.length < 32) throw new Error(`${file} holds a key shorter than 32 bytes: remove it and start again to make a new one`);
  return key;
}

/**
 * The key sessions are signed with: derived (HKDF-SHA256) from the data dir's session key and the admin password,
 * so changing the password ends every session signed before, on every gateway sharing the data dir.
 */
export function sessionSigningKey(fileKey: Buffer, adminPassword: string): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, Buffer.from(adminPassword, 'utf8'), 'spindle session', 32));
}

/** A session as `GET /system/session` shows it. */
export interface SessionView {
  user: 'admin';
  csrf: string;
  expiresAt: string;
}

/** True when the request reached us over https (directly, or through a proxy that says so). */
export function viaHttps(req: { headers: IncomingHttpHeaders; protocol: string }): boolean {
  const forwarded = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0].trim().toLowerCase();
  return first === 'https' || req.protocol === 'https';
}

/** The session cookie's value in a request's headers, if it sent one. */
export function sessionCookie(headers: IncomingHttpHeaders): string | undefined {
  const raw = headers.cookie;
  if (!raw?.includes(SESSION_COOKIE)) return undefined;
  return fastifyCookie.parse(raw)[SESSION_COOKIE];
}

/** Throws a 403 naming `Origin` unless the header is absent or names this gateway (its Host, or X-Forwarded-Host). */
export function checkOrigin(headers: IncomingHttpHeaders): void {
  const origin = headers.origin;
  if (origin === undefined) return;
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {
    url = undefined;
  }
  const hosts = [headers.host, ...String(headers['x-forwarded-host'] ?? '').split(',')].map((h) => h?.trim().toLowerCase()).filter(Boolean);
  if (!url || !hosts.includes(url.host.toLowerCase())) {
    throw new ForbiddenError(`header "Origin" (${origin.slice(0, 200)}) is not this gateway's origin; the web app must be served by the gateway it calls`);
  }
}

/** Issues and checks session cookies. */
export class Sessions {
  readonly #signer: ReturnType<typeof fastifyCookie.signerFactory>;
  readonly #key: Buffer;
  /** Tokens logged out on this gateway, with their expiry (ms): refused until then. */
  readonly #revoked = new Map<string, number>();

  constructor(key: Buffer, readonly ttlMs = SESSION_TTL_MS) {
    this.#key = key;
    this.#signer = fastifyCookie.signerFactory(key, 'sha256');
  }

  /** A new session: the signed cookie value and when it expires. */
  issue(now = Date.now()): { cookie: string; expiresAt: Date } {
    const expiresAt = new Date(now + this.ttlMs);
    const token = `v1.${Math.floor(expiresAt.getTime() / 1000)}.${randomBytes(16).toString('base64url')}`;
    return { cookie: this.#signer.sign(token), expiresAt };
  }

  /** The session a cookie value carries, or null when it is forged, malformed or expired. */
  read(cookie: string | undefined, now = Date.now()): SessionView | null {
    if (!cookie || cookie.length > 512) return null;
    const { valid, value } = this.#signer.unsign(cookie);
    const m = valid && value ? /^v1\.(\d{1,12})\.[A-Za-z0-9_-]{22}$/.exec(value) : null;
    if (!m || Number(m[1]) * 1000 <= now || this.#revoked.has(value!)) return null;
    return { user: 'admin', csrf: this.#csrf(value!), expiresAt: new Date(Number(m[1]) * 1000).toISOString() };
  }

  /**
   * Ends the session a cookie carries on this gateway (logout): it is refused from now on, here. Other gateways
   * sharing the key accept it until it expires; nothing is kept across a restart.
   */
  revoke(cookie: string | undefined, now = Date.now()): void {
    if (!this.read(cookie, now)) return;
    const token = this.#signer.unsign(cookie!).value!;
    for (const [t, expires] of this.#revoked) if (expires <= now || this.#revoked.size >= MAX_REVOKED) this.#revoked.delete(t);
    this.#revoked.set(token, Number(token.split('.')[1]) * 1000);
  }

  /**
   * Authorizes a request by its session cookie: 401 when it carries no valid session; for a method that
   * changes something, 403 unless `X-CSRF-Token` is the session's token and `Origin`, when sent, is ours.
   */
  authorize(headers: IncomingHttpHeaders, method: string): SessionView {
    const session = this.read(sessionCookie(headers));
    // No WWW-Authenticate: a browser would answer it with its own login dialog instead of the app's page.
    if (!session) throw new UnauthorizedError('the session has expired or is not valid: log in again', false);
    if (!SAFE_METHODS.has(method.toUpperCase())) {
      checkOrigin(headers);
      const sent = headers['x-csrf-token'];
      const given = Buffer.from(typeof sent === 'string' ? sent : '');
      const expected = Buffer.from(session.csrf);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new ForbiddenError('header "X-CSRF-Token" is missing or wrong: send the csrf token of GET /system/session with every request that changes something');
      }
    }
    return session;
  }

  #csrf(token: string): string {
    return createHmac('sha256', this.#key).update(`csrf.${token}`).digest('base64url');
  }
}
