/**
 * `/artifacts`: the public face of the object store's artifacts, behind the admin check. `POST /artifacts`
 * stores a raw body under `uploads/<sha256>.<ext>` (so a graph input can name a photo by key); `GET` and
 * `HEAD /artifacts/KEY` stream any artifact (a node's audio, a run's MP4) with its media type and
 * `Range` support, so a `<video>` element can seek. Replicas use `/internal/artifacts` (artifacts.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import parseRange from 'range-parser';
import { extensionOf, mediaTypeOf } from '@spindle/schemas';
import { ArtifactTooLargeError, BadRequestError, NotFoundError, RangeNotSatisfiableError } from '../errors.ts';
import type { BlobStore } from '../store/index.ts';

/** Artifacts live under this prefix in the blob store (as `/internal/artifacts` stores them). */
const PREFIX = 'artifacts/';

/** Counts and hashes what passes; fails with a 413 past `limit`. */
function measure(limit: number): Transform & { size: number; digest(): string } {
  const hash = createHash('sha256');
  const t = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      t.size += chunk.length;
      if (t.size > limit) return done(new ArtifactTooLargeError(limit));
      hash.update(chunk);
      done(null, chunk);
    },
  }) as Transform & { size: number; digest(): string };
  t.size = 0;
  t.digest = () => hash.digest('hex');
  return t;
}

/** `uploads/<sha256>.<ext>`: the same bytes uploaded twice get the same key. */
async function storeUpload(blobs: BlobStore, body: IncomingMessage, contentType: string | undefined, limit: number): Promise<{ key: string; size: number; contentType: string }> {
  const declared = Number(body.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new ArtifactTooLargeError(limit);
  // The key needs the hash, which needs every byte: the body goes to a temporary blob first, never to memory.
  const incoming = `${PREFIX}uploads/.incoming/${randomUUID()}`;
  const meter = measure(limit);
  try {
    // pipe() does not pass a source's failure on: a caller that leaves mid-upload must fail the put, not hang it.
    body.once('error', (err) => meter.destroy(err));
    body.once('close', () => body.complete || meter.destroy(new BadRequestError('the upload was cut short')));
    await blobs.put(incoming, body.pipe(meter));
    await new Promise<void>((resolve, reject) => (meter.writableFinished ? resolve() : meter.once('finish', resolve).once('error', reject)));
    if (meter.size === 0) throw new BadRequestError('the upload is empty: send the file as the request body');
    const ext = extensionOf(contentType);
    const key = `uploads/${meter.digest()}.${ext}`;
    if (!(await blobs.has(PREFIX + key))) {
      const copy = await blobs.stream(incoming);
      if (!copy) throw new Error(`the upload's temporary blob ${incoming} vanished`);
      await blobs.put(PREFIX + key, copy, meter.size);
    }
    return { key, size: meter.size, contentType: mediaTypeOf(key) };
  } finally {
    await blobs.delete(incoming).catch(() => {});
  }
}

/** The admin-only artifact routes; register inside the scope that checks the admin credentials. */
export function publicArtifactRoutes(blobs: BlobStore, maxBytes: number): FastifyPluginAsync {
  return async (app) => {
    app.removeAllContentTypeParsers();
    // The raw request stream: uploads are piped to the store, never buffered whole.
    app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    app.post('/artifacts', { bodyLimit: maxBytes }, async (req, reply) => {
      try {
        const stored = await storeUpload(blobs, req.raw, req.headers['content-type'], maxBytes);
        return reply.code(201).send(stored);
      } catch (err) {
        // A body that declared its size is read to its end by node after the answer (the client, still sending,
        // then reads the 413 instead of a broken pipe); one without a size could go on for ever, so it is cut.
        if (err instanceof ArtifactTooLargeError && req.headers['content-length'] === undefined) reply.header('connection', 'close');
        throw err;
      }
    });
    const serve = (head: boolean) => async (req: { params: { '*': string }; headers: Record<string, string | string[] | undefined> }, reply: import('fastify').FastifyReply) => {
      const key = req.params['*'];
      if (!key) throw new BadRequestError('field "key" is missing: GET /artifacts/<key>');
      const size = await blobs.size(PREFIX + key);
      if (size === null) throw new NotFoundError(`artifact "${key}" does not exist`);
      // nosniff: a browser plays or shows the bytes as their stored type, never as HTML it guessed.
      reply.header('accept-ranges', 'bytes').header('x-content-type-options', 'nosniff').type(mediaTypeOf(key));
      const header = req.headers.range;
      const ranges = typeof header === 'string' && size > 0 ? parseRange(size, header, { combine: true }) : -2;
      if (ranges === -1) throw new RangeNotSatisfiableError(size);
      // A malformed header or several ranges: the whole artifact (RFC 9110 lets a server ignore Range).
      const range = Array.isArray(ranges) && ranges.type === 'bytes' && ranges.length === 1 ? ranges[0] : undefined;
      if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`);
      reply.header('content-length', range ? range.end - range.start + 1 : size);
      if (head) return reply.send();
      const body = size === 0 ? null : await blobs.stream(PREFIX + key, range);
      if (size > 0 && !body) throw new NotFoundError(`artifact "${key}" does not exist`);
      return reply.send(body ?? '');
    };
    app.get<{ Params: { '*': string } }>('/artifacts/*', { exposeHeadRoute: false }, serve(false));
    app.head<{ Params: { '*': string } }>('/artifacts/*', serve(true));
  };
}
