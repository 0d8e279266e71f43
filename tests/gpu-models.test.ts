/** The real models of the default stack through gateway + runner: Silero VAD (functions/vad) and ISNet (functions/matte). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { encodeWav } from '../functions/vad/wav.ts';
import { startPlatform, type Api } from './harness.ts';
import { deployGpu, loaded, redisPrefix, startRunner, waitRunner, type RunnerProc } from './gpu-harness.ts';
import { concat, hush, voice } from './voice.ts';

let api: Api;
let stop: () => Promise<void>;
let runner: RunnerProc;
const redis = redisPrefix();

const post = (name: string, body: Uint8Array, contentType: string) => api.invoke(name, { body: new Uint8Array(body), headers: { 'content-type': contentType } });

beforeAll(async () => {
  ({ api, stop } = await startPlatform({ redisPrefix: redis.prefix }));
  runner = await startRunner(redis.prefix);
  expect((await deployGpu(api, 'vad', 'vad')).status).toBe(202);
  expect((await deployGpu(api, 'matte', 'matte')).status).toBe(202);
  // Loading warms each model with one inference (ISNet takes seconds on CPU).
  await waitRunner(api, (s) => loaded('vad')(s) && loaded('matte')(s), 90_000);
}, 180_000);
afterAll(async () => {
  await runner?.stop();
  await stop?.();
  await redis.cleanup();
});

describe('vad (Silero VAD v5)', () => {
  it('finds no speech in silence', async () => {
    const res = await post('vad', encodeWav(hush(3), 16_000), 'audio/wav');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ segments: [], duration: 3 });
  });

  // Speech at 1.0-3.0 s and 4.5-5.7 s, silence around it.
  const speech = (rate: number) => concat(hush(1, rate), voice(2, rate, 1), hush(1.5, rate), voice(1.2, rate, 2), hush(1, rate));
  const expectSpeechSegments = (segments: Array<{ start: number; end: number }>) => {
    expect(segments).toHaveLength(2);
    const [a, b] = segments;
    expect(Math.abs(a.start - 1.0), JSON.stringify(segments)).toBeLessThan(0.25);
    expect(Math.abs(a.end - 3.0), JSON.stringify(segments)).toBeLessThan(0.3);
    expect(Math.abs(b.start - 4.5), JSON.stringify(segments)).toBeLessThan(0.25);
    expect(Math.abs(b.end - 5.7), JSON.stringify(segments)).toBeLessThan(0.3);
  };

  it('finds the speech segments of a 16 kHz mono WAV', async () => {
    const res = await post('vad', encodeWav(speech(16_000), 16_000), 'audio/wav');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.duration).toBeCloseTo(6.7, 1);
    expectSpeechSegments(body.segments);
  });

  it('converts stereo 44.1 kHz to 16 kHz mono first', async () => {
    const mono = speech(44_100);
    const stereo = new Float32Array(mono.length * 2);
    for (const [i, s] of mono.entries()) {
      stereo[2 * i] = s;
      stereo[2 * i + 1] = s * 0.8;
    }
    const res = await post('vad', encodeWav(stereo, 44_100, 2), 'audio/wav');
    expect(res.status).toBe(200);
    expectSpeechSegments((await res.json()).segments);
  });

  it('answers 400 naming the problem for what it cannot read, and the runner carries on', async () => {
    const notWav = await post('vad', Buffer.from('this is not audio at all'), 'audio/wav');
    expect(notWav.status).toBe(400);
    expect((await notWav.json()).error).toMatchObject({ code: 'SPINDLE_INVALID_AUDIO', message: expect.stringMatching(/not a WAV file/) });
    const alaw = encodeWav(hush(0.5), 8000);
    alaw.writeUInt16LE(6, 20); // A-law
    const res = await post('vad', alaw, 'audio/wav');
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/format 6/);
    const slow = encodeWav(hush(0.5), 16_000);
    slow.writeUInt32LE(4000, 24);
    expect((await (await post('vad', slow, 'audio/wav')).json()).error.message).toMatch(/4000 Hz/);
    expect((await post('vad', encodeWav(hush(1), 16_000), 'audio/wav')).status).toBe(200);
    expect(runner.child.exitCode).toBeNull();
  });
});

describe('matte (ISNet background removal)', () => {
  const W = 320;
  const H = 240;
  // A bright disc on a plain dark background.
  const scene = () => sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="100%" height="100%" fill="#1e3a8a"/><circle cx="${W / 2}" cy="${H / 2}" r="70" fill="#fde047"/></svg>`));

  it('answers an RGBA PNG of the same size whose alpha keeps the subject and drops the background', async () => {
    const res = await post('matte', await scene().jpeg().toBuffer(), 'image/jpeg');
    expect(res.status, await res.clone().text().catch(() => '')).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const { data, info } = await sharp(Buffer.from(await res.arrayBuffer())).raw().toBuffer({ resolveWithObject: true });
    expect(info).toMatchObject({ width: W, height: H, channels: 4 });
    const alpha = (x: number, y: number) => data[(y * W + x) * 4 + 3];
    expect(alpha(W / 2, H / 2)).toBeGreaterThan(200);
    expect(alpha(W / 2 + 40, H / 2 - 30)).toBeGreaterThan(200);
    for (const [x, y] of [[5, 5], [W - 6, 5], [5, H - 6], [W - 6, H - 6]]) expect(alpha(x, y), `corner ${x},${y}`).toBeLessThan(40);
    // The colours are kept.
    expect(data[(H / 2 * W + W / 2) * 4]).toBeGreaterThan(200);
  }, 60_000);

  it('answers 400 for a body that is not an image', async () => {
    const res = await post('matte', Buffer.from('\x89PNG but not really'), 'image/png');
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ code: 'SPINDLE_INVALID_IMAGE', message: expect.stringMatching(/not an image/) });
    expect(runner.child.exitCode).toBeNull();
  });
});
