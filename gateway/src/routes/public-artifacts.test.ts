/**
 * `POST /artifacts`, `GET`/`HEAD /artifacts/KEY` through `app.inject()`: content-addressed upload keys,
 * the size limit (413 naming it), media types, byte ranges (206, 416) and the admin check.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectPlatform, type InjectedPlatform } from './inject-support.ts';

const LIMIT = 64 * 1024;
let p: InjectedPlatform;
beforeAll(async () => {
  p = await injectPlatform({ maxArtifactBytes: LIMIT });
});
afterAll(() => p?.close());

const bytes = randomBytes(10_000);
const sha = createHash('sha256').update(bytes).digest('hex');

describe('/artifacts', () => {
  it('stores an upload under uploads/<sha256>.<ext>, the same key for the same bytes, and serves it back', async () => {
    const up = await p.request({ method: 'POST', url: '/artifacts', payload: bytes, headers: { 'content-type': 'image/jpeg' } });
    expect(up.statusCode, up.body).toBe(201);
    expect(up.json()).toEqual({ key: `uploads/${sha}.jpg`, size: bytes.length, contentType: 'image/jpeg' });
    const again = await p.request({ method: 'POST', url: '/artifacts', payload: bytes, headers: { 'content-type': 'image/jpeg' } });
    expect(again.json().key).toBe(`uploads/${sha}.jpg`);
    const got = await p.request({ method: 'GET', url: `/artifacts/uploads/${sha}.jpg` });
    expect(got.statusCode).toBe(200);
    expect(got.headers['content-type']).toBe('image/jpeg');
    expect(got.headers['accept-ranges']).toBe('bytes');
    expect(got.rawPayload.equals(bytes)).toBe(true);
    // What a replica stored through /internal/artifacts is served here too (same prefix in the store).
    await p.platform.blobs.put('artifacts/runs/r1/final.mp4', Buffer.from('not really a video'));
    const video = await p.request({ method: 'GET', url: '/artifacts/runs/r1/final.mp4' });
    expect([video.statusCode, video.headers['content-type'], video.body]).toEqual([200, 'video/mp4', 'not really a video']);
  });

  it('answers byte ranges with 206 and Content-Range, HEAD with the size, and 416 past the end', async () => {
    const url = `/artifacts/uploads/${sha}.jpg`;
    const part = await p.request({ method: 'GET', url, headers: { range: 'bytes=100-199' } });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${bytes.length}`);
    expect(part.rawPayload.equals(bytes.subarray(100, 200))).toBe(true);
    const tail = await p.request({ method: 'GET', url, headers: { range: 'bytes=-10' } });
    expect(tail.rawPayload.equals(bytes.subarray(-10))).toBe(true);
    const open = await p.request({ method: 'GET', url, headers: { range: 'bytes=9990-' } });
    expect([open.statusCode, open.rawPayload.length]).toEqual([206, 10]);
    const head = await p.request({ method: 'HEAD', url });
    expect([head.statusCode, head.headers['content-length'], head.body]).toEqual([200, String(bytes.length), '']);
    const past = await p.request({ method: 'GET', url, headers: { range: `bytes=${bytes.length}-` } });
    expect(past.statusCode).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${bytes.length}`);
    // A malformed Range is ignored, as RFC 9110 allows: the whole artifact.
    expect((await p.request({ method: 'GET', url, headers: { range: 'pages=1-2' } })).statusCode).toBe(200);
  });

  it('refuses an upload over SPINDLE_MAX_ARTIFACT_BYTES with a 413 naming the limit, and an empty one with a 400', async () => {
    const big = await p.request({ method: 'POST', url: '/artifacts', payload: randomBytes(LIMIT + 1), headers: { 'content-type': 'image/png' } });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.message).toContain(`${LIMIT} bytes (SPINDLE_MAX_ARTIFACT_BYTES)`);
    const empty = await p.request({ method: 'POST', url: '/artifacts', payload: Buffer.alloc(0), headers: { 'content-type': 'image/png' } });
    expect(empty.statusCode).toBe(400);
    // Nothing half-stored is left behind.
    expect(await p.platform.blobs.has('artifacts/uploads/.incoming')).toBe(false);
  });

  it('answers 404 for a missing key, 400 for a bad one, and 401 without the admin credentials', async () => {
    expect((await p.request({ method: 'GET', url: '/artifacts/uploads/nope.png' })).statusCode).toBe(404);
    expect((await p.request({ method: 'GET', url: '/artifacts/a//b' })).statusCode).toBe(400);
    expect((await p.request({ method: 'GET', url: `/artifacts/uploads/${sha}.jpg`, auth: false })).statusCode).toBe(401);
    expect((await p.request({ method: 'POST', url: '/artifacts', payload: bytes, auth: false })).statusCode).toBe(401);
  });
});
