/**
 * The talking-portrait pipeline on a real platform (gateway, replicas, GPU runner, object store): its
 * functions one by one with media passed as artifact keys, bad input answered with 4xx naming the field,
 * and the whole `talking-portrait` graph on a real face photo, its MP4 checked frame by frame.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ffmpeg from '@spindle/fn-render/ffmpeg-path.cjs';
import { probe } from '@spindle/fn-render/probe';
import { decodeWav } from '../functions/vad/wav.ts';
import { type Api, startPlatform, tempDir } from './harness.ts';
import { deployGpu, loaded, redisPrefix, type RunnerProc, startRunner, waitRunner } from './gpu-harness.ts';

/** The test portrait: NASA's public-domain photo of Eileen Collins, shipped by Debian's python3-skimage (see README). */
export const FACE = '/usr/lib/python3/dist-packages/skimage/data/astronaut.png';

const exec = promisify(execFile);
let api: Api;
let stop: () => Promise<void>;
let runner: RunnerProc;
let work: string;
const redis = redisPrefix();

const json = (name: string, body: unknown) => api.invoke(name, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
async function ok<T = any>(res: Response): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as T;
}
async function upload(bytes: Buffer, contentType: string): Promise<string> {
  const res = await fetch(`${api.url}/artifacts`, { method: 'POST', headers: { authorization: api.auth, 'content-type': contentType }, body: new Uint8Array(bytes) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { key: string }).key;
}
async function download(key: string): Promise<Buffer> {
  const res = await api.system('GET', `/artifacts/${key}`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

beforeAll(async () => {
  work = await tempDir('spindle-pipeline-');
  ({ api, stop } = await startPlatform({ redisPrefix: redis.prefix }));
  runner = await startRunner(redis.prefix);
  for (const fn of ['script', 'tts', 'render']) expect((await api.deploy(fn, fn)).status).toBe(202);
  for (const fn of ['vad', 'matte']) expect((await deployGpu(api, fn, fn)).status).toBe(202);
  await waitRunner(api, (s) => loaded('vad')(s) && loaded('matte')(s), 120_000);
}, 240_000);
afterAll(async () => {
  await runner?.stop();
  await stop?.();
  await redis.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the pipeline functions, media as artifact keys', () => {
  let speech: { audio: string; duration: number; phonemes: Array<{ phone: string; start: number; end: number }> };

  it('script writes 2 sentences about the prompt with the grammar, the same for the same seed', async () => {
    const a = await ok(await json('script', { prompt: 'Tell me about the history of tea!', sentences: 2, seed: 7 }));
    expect(a.generator).toBe('grammar');
    expect(a.seed).toBe(7);
    expect(a.narration).toContain('the history of tea');
    expect(a.narration.match(/[.!?](\s|$)/g)).toHaveLength(2);
    expect(await ok(await json('script', { prompt: 'Tell me about the history of tea!', sentences: 2, seed: 7 }))).toEqual(a);
  });

  it('tts stores 16 kHz mono speech whose phones line up with its energy (silent pauses, voiced phones)', async () => {
    speech = await ok(await json('tts', { text: 'Hello there. Spindle turns a photo into a talking portrait.', voice: 'slt' }));
    expect(speech.audio).toMatch(/^speech\/[0-9a-f]{64}\.wav$/);
    const wav = decodeWav(await download(speech.audio));
    expect([wav.sampleRate, wav.channels]).toEqual([16_000, 1]);
    expect(Math.abs(wav.samples.length / 16_000 - speech.duration)).toBeLessThan(0.01);
    // Flite's own alignment against the signal: energy inside its phones, near silence in its pauses. This shows
    // the audio is speech-like where Flite says words are, not that a listener understands them.
    const rms = (from: number, to: number) => {
      const a = Math.floor(from * 16_000);
      const b = Math.min(wav.samples.length, Math.max(a + 1, Math.floor(to * 16_000)));
      let sum = 0;
      for (let i = a; i < b; i++) sum += wav.samples[i] ** 2;
      return Math.sqrt(sum / (b - a));
    };
    const phones = speech.phonemes.filter((p) => p.phone !== 'pau');
    const pauses = speech.phonemes.filter((p) => p.phone === 'pau' && p.end - p.start > 0.05);
    expect(phones.length).toBeGreaterThan(30);
    expect(pauses.length).toBeGreaterThanOrEqual(2);
    const voiced = phones.reduce((s, p) => s + rms(p.start, p.end) * (p.end - p.start), 0) / phones.reduce((s, p) => s + p.end - p.start, 0);
    // The middle half of each pause: Flite's boundaries are where a phone's target is, and sound ramps across them.
    const quiet = pauses.reduce((s, p) => s + rms(p.start + (p.end - p.start) / 4, p.end - (p.end - p.start) / 4), 0) / pauses.length;
    expect(voiced).toBeGreaterThan(10 * quiet);
    expect(Math.abs(speech.phonemes.at(-1)!.end - speech.duration)).toBeLessThan(0.1);
  });

  it('vad takes {audio: key} and finds the speech Flite made', async () => {
    const { segments, duration } = await ok(await json('vad', { audio: speech.audio }));
    expect(Math.abs(duration - speech.duration)).toBeLessThan(0.05);
    const phones = speech.phonemes.filter((p) => p.phone !== 'pau');
    const covered = phones.filter((p) => segments.some((s: { start: number; end: number }) => s.start <= (p.start + p.end) / 2 && (p.start + p.end) / 2 <= s.end));
    expect(covered.length / phones.length).toBeGreaterThan(0.9);
  });

  it('render muxes a video and the speech into an H.264 + AAC MP4 as long as the speech', async () => {
    const silent = join(work, 'silent.mp4');
    await exec(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc=size=256x256:rate=25:duration=${speech.duration}`, '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', silent]);
    const video = await upload(await readFile(silent), 'video/mp4');
    const out = await ok(await json('render', { video, audio: speech.audio }));
    expect(out.video).toMatch(/^videos\/[0-9a-f]{64}\.mp4$/);
    const file = join(work, 'final.mp4');
    const bytes = await download(out.video);
    expect(bytes.length).toBe(out.size);
    await writeFile(file, bytes);
    const p = await probe(ffmpeg, file);
    expect(p.video).toMatchObject({ codec: 'h264', pixelFormat: 'yuv420p', width: 256, height: 256 });
    expect(p.audio?.codec).toBe('aac');
    expect(Math.abs(p.duration - speech.duration)).toBeLessThan(0.1);
    // +faststart: the index (moov) comes before the media data (mdat).
    expect(bytes.indexOf('moov')).toBeLessThan(bytes.indexOf('mdat'));
  });

  it('matte takes {image: key} and stores an RGBA cut-out of the same size', async () => {
    if (!existsSync(FACE)) throw new Error(`${FACE} is missing: apt-get install python3-skimage (see README)`);
    const image = await upload(await readFile(FACE), 'image/png');
    const out = await ok(await json('matte', { image }));
    expect(out).toMatchObject({ width: 512, height: 512 });
    const meta = await sharp(await download(out.cutout)).metadata();
    expect(meta).toMatchObject({ format: 'png', width: 512, height: 512, channels: 4 });
  });
});

describe('bad input: a 4xx naming the field', () => {
  const field = async (res: Response, status: number, name: string) => {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    expect(text).toContain(`"${name}`);
  };

  it('an empty prompt, an unknown voice, a missing audio key, a key that is not an image', async () => {
    await field(await json('script', { prompt: '   ' }), 400, 'prompt');
    await field(await json('tts', { text: 'hi', voice: 'bob' }), 400, 'voice');
    await field(await json('vad', { audio: 'speech/missing.wav' }), 404, 'audio');
    await field(await json('vad', {}), 400, 'audio');
    const notImage = await upload(Buffer.from('not an image at all'), 'image/png');
    await field(await json('matte', { image: notImage }), 400, 'image');
    await field(await json('render', { video: 'videos/none.mp4', audio: 'speech/none.wav' }), 404, 'video');
  });
});
