/** Header handling shared by the paths that pass a caller's request on (sync invoke, async queueing). */
import type { IncomingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and `Expect` (curl's 100-continue, answered by the gateway): never passed on. */
export const HOP_HEADERS: ReadonlySet<string> = new Set(['expect', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'proxy-authorization', 'proxy-authenticate']);

/** The web app's admin session cookie (session.ts's SESSION_COOKIE): the browser sends it with every same-origin request. */
const SESSION_COOKIE_PAIR = /(?:^|;\s*)spindle_session=[^;]*/g;

/**
 * `headers` without the hop-by-hop ones and without `extra`. The admin session cookie is cut out of `Cookie`:
 * a browser signed in to the web app sends it to `/function/...` too, and a function must never hold the
 * admin's session.
 */
export function passOnHeaders(headers: IncomingHttpHeaders, extra: ReadonlySet<string> = new Set()): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key in headers) {
    const v = headers[key];
    if (v === undefined || HOP_HEADERS.has(key) || extra.has(key)) continue;
    if (key === 'cookie' && typeof v === 'string') {
      const rest = v.replace(SESSION_COOKIE_PAIR, '').replace(/^;\s*/, '').trim();
      if (rest) out[key] = rest;
    } else out[key] = v;
  }
  return out;
}
