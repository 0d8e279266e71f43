/**
 * The binary envelope of every async message: a 4-byte big-endian length, that many bytes of JSON
 * metadata, then the body bytes untouched (binary-safe, no base64).
 */

/** Packs `meta` (JSON) and `body` (raw bytes) into one message payload. */
export function pack(meta: object, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const out = Buffer.allocUnsafe(4 + json.length + body.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  out.set(body, 4 + json.length);
  return out;
}

/** Splits a payload made by `pack`; throws on anything else. */
export function unpack<T>(data: Uint8Array): { meta: T; body: Buffer } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 4) throw new Error('async message is shorter than its header');
  const len = buf.readUInt32BE(0);
  if (4 + len > buf.length) throw new Error('async message metadata is truncated');
  const meta = JSON.parse(buf.subarray(4, 4 + len).toString('utf8')) as T;
  return { meta, body: buf.subarray(4 + len) };
}
