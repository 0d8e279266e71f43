/** Turns what a handler returned into bytes on the wire, streaming when it is a stream. */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RawResponse } from './types.ts';

const RAW_KEYS = new Set(['status', 'headers', 'body']);

/** True for `{ status?, headers?, body? }` with nothing else: the raw-response shape. */
export function isRawResponse(value: unknown): value is RawResponse {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => RAW_KEYS.has(k));
}

/**
 * True for a web `Response` (Node's own, or undici's from a function's dependencies). Read from its
 * `Symbol.toStringTag`, not `instanceof Response`: the first touch of the `Response` global loads Node's
 * bundled undici, which made every replica's first answer tens of milliseconds slower.
 */
export function isWebResponse(value: unknown): value is Response {
  return Object.prototype.toString.call(value) === '[object Response]';
}

/** Sends a web `Response` (its body streamed chunk by chunk). */
export async function sendWebResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => {
    headers[k] = v;
  });
  res.writeHead(response.status, headers);
  if (!response.body) return void res.end();
  res.flushHeaders();
  await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), res);
}

/** Sends a raw response; streams (web or async-iterable) are forwarded as they produce. */
export async function sendRaw(res: ServerResponse, raw: RawResponse, defaultType: string): Promise<void> {
  const headers: Record<string, string> = { ...raw.headers };
  const hasType = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
  const body = raw.body;
  if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) {
    const bytes = body === undefined ? Buffer.alloc(0) : typeof body === 'string' ? Buffer.from(body) : body;
    if (!hasType && body !== undefined) headers['content-type'] = typeof body === 'string' ? 'text/plain; charset=utf-8' : defaultType;
    headers['content-length'] = String(bytes.byteLength);
    res.writeHead(raw.status ?? 200, headers);
    return void res.end(bytes);
  }
  if (!hasType) headers['content-type'] = defaultType;
  res.writeHead(raw.status ?? 200, headers);
  res.flushHeaders();
  const stream =
    typeof (body as ReadableStream).getReader === 'function'
      ? Readable.fromWeb(body as import('node:stream/web').ReadableStream)
      : Readable.from(body as AsyncIterable<Uint8Array | string>);
  await pipeline(stream, res);
}

/** Sends a JSON value. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const bytes = Buffer.from(JSON.stringify(value ?? null));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(bytes.length) });
  res.end(bytes);
}
