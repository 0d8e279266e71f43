/** Header handling shared by the paths that pass a caller's request on (sync invoke, async queueing). */
import type { IncomingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and `Expect` (curl's 100-continue, answered by the gateway): never passed on. */
export const HOP_HEADERS: ReadonlySet<string> = new Set(['expect', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'proxy-authorization', 'proxy-authenticate']);

/** `headers` without the hop-by-hop ones and without `extra`. */
export function passOnHeaders(headers: IncomingHttpHeaders, extra: ReadonlySet<string> = new Set()): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key in headers) {
    const v = headers[key];
    if (v !== undefined && !HOP_HEADERS.has(key) && !extra.has(key)) out[key] = v;
  }
  return out;
}
