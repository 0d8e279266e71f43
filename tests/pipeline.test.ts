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
import { parse } from 'yaml';
import ffmpeg from '@spindle/fn-render/ffmpeg-path.cjs';
import { probe } from '@spindle/fn-render/probe';
import { decodeWav } from '../functions/vad/wav.ts';
import { FACE_PHOTO, NO_FACE_PHOTO, needPhotos } from './faces.ts';
import { type Api, ROOT, run, startPlatform, tempDir } from './harness.ts';
import { deployGpu, loaded, redisPrefix, type RunnerProc, startRunner, waitRunner } from './gpu-harness.ts';

const FACE = FACE_PHOTO;
/** The artifact limit of this test's gateway: small, so the CLI's 413 needs no big file. */
const ARTIFACT_LIMIT = 2 * 1024 * 1024;

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
  needPhotos();
  ({ api, stop } = await startPlatform({ redisPrefix: redis.prefix, maxArtifactBytes: ARTIFACT_LIMIT }));
  runner = await startRunner(redis.prefix);
  for (const fn of ['script', 'tts', 'render', 'landmarks', 'animate', 'upscale']) expect((await api.deploy(fn, fn)).status).toBe(202);
  for (const fn of ['vad', 'matte']) expect((await deployGpu(api, fn, fn)).status).toBe(202);
  const graph = parse(await readFile(join(ROOT, 'stack.yml'), 'utf8')).graphs['talking-portrait'];
  const deployed = await api.system('PUT', '/system/graphs/talking-portrait', graph);
  expect(deployed.status, await deployed.text()).toBeLessThan(300);
  await waitRunner(api, (s) => loaded('vad')(s) && loaded('matte')(s), 120_000);
}, 240_000);
afterAll(async () => {
  await runner?.stop();
  await stop?.();
  await redis.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the pipeline functions, media as artifact keys', { timeout: 120_000 }, () => {
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

/** Gray frames of an MP4 (decoded by ffmpeg), `size`×`size` each. */
async function grayFrames(file: string, size: number): Promise<Uint8Array[]> {
  const { stdout } = await exec(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 });
  const n = size * size;
  return Array.from({ length: Math.floor(stdout.length / n) }, (_, i) => new Uint8Array(stdout.buffer, stdout.byteOffset + i * n, n));
}

/** Mean absolute difference of two frames inside `box` (optionally leaving out `hole`). */
function meanDiff(a: Uint8Array, b: Uint8Array, size: number, box: Box, holes: Box[] = []): number {
  let sum = 0;
  let n = 0;
  for (let y = Math.max(0, box.y); y < Math.min(size, box.y + box.height); y++) {
    for (let x = Math.max(0, box.x); x < Math.min(size, box.x + box.width); x++) {
      if (holes.some((h) => x >= h.x && x < h.x + h.width && y >= h.y && y < h.y + h.height)) continue;
      const i = y * size + x;
      sum += Math.abs(a[i] - b[i]);
      n++;
    }
  }
  return n ? sum / n : 0;
}

type Box = { x: number; y: number; width: number; height: number };
const grow = (b: Box, by: number): Box => ({ x: Math.round(b.x - by), y: Math.round(b.y - by), width: Math.round(b.width + 2 * by), height: Math.round(b.height + 2 * by) });

function pearson(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  const ma = a.slice(0, n).reduce((s, v) => s + v, 0) / n;
  const mb = b.slice(0, n).reduce((s, v) => s + v, 0) / n;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (a[i] - ma) * (b[i] - mb);
    da += (a[i] - ma) ** 2;
    db += (b[i] - mb) ** 2;
  }
  return num / Math.sqrt(da * db);
}

describe('the talking-portrait graph, from the CLI', () => {
  it('uploads the photo, runs every node, downloads an MP4 whose mouth moves with the speech and nothing else does', async () => {
    const out = join(work, 'out');
    const data = { prompt: 'the sea', sentences: 2, sway: 0, blink: false, background: { color: '#00ff00' } };
    const cli = await run(process.execPath, [join(ROOT, 'cli', 'bin', 'spindle.mjs'), 'run', 'talking-portrait', '-g', api.url, '--file', `portrait=${FACE}`, '--data', JSON.stringify(data), '--follow', '--download', out], {
      env: { ...process.env, SPINDLE_ADMIN_PASSWORD: api.password },
      timeoutMs: 240_000,
    });
    expect(cli.code, cli.stderr).toBe(0);
    for (const node of ['script', 'tts', 'vad', 'portrait', 'matte', 'landmarks', 'animate', 'render']) expect(cli.stderr).toMatch(new RegExp(`^${node}\\s+done in`, 'm'));
    const output = JSON.parse(cli.stdout);
    expect(output).toMatchObject({ generator: 'grammar', width: 512, height: 512 });
    const runId = /^run (\S+) of talking-portrait/m.exec(cli.stderr)![1];
    const record = await (await api.system('GET', `/runs/${runId}`)).json();
    const node = (id: string) => record.nodes.find((n: { id?: string; node?: string }) => (n.id ?? n.node) === id).output;
    const [tts, vad, matte, animate] = ['tts', 'vad', 'matte', 'animate'].map(node);

    // The MP4 the CLI downloaded: H.264 + AAC, as long as the speech.
    const file = join(out, output.video.split('/').at(-1));
    const p = await probe(ffmpeg, file);
    expect(p.video).toMatchObject({ codec: 'h264', pixelFormat: 'yuv420p', width: 512, height: 512, fps: 25 });
    expect(p.audio?.codec).toBe('aac');
    expect(Math.abs(p.duration - tts.duration)).toBeLessThan(0.1);

    // Its sound is the speech: the envelope of the decoded AAC follows the WAV's (40 ms windows).
    const { stdout: pcm } = await exec(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-ar', '16000', '-'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
    const wav = decodeWav(await download(tts.audio)).samples;
    const envelope = (x: ArrayLike<number>, scale = 1) => Array.from({ length: Math.floor(wav.length / 640) }, (_, w) => {
      let sum = 0;
      for (let i = w * 640; i < (w + 1) * 640 && i < x.length; i++) sum += (x[i] * scale) ** 2;
      return Math.sqrt(sum / 640);
    });
    const decoded = new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.length / 2));
    expect(pearson(envelope(wav), envelope(decoded, 1 / 32768))).toBeGreaterThan(0.9);

    // The mouth moves with the speech, stays still in silence, and the rest of the face does not move.
    const frames = await grayFrames(file, 512);
    expect(Math.abs(frames.length - Math.round(tts.duration * 25))).toBeLessThanOrEqual(1);
    const mouth = grow(animate.mouthBox, 4);
    const face = grow(node('landmarks').box, 0);
    const mouthDiff: number[] = [];
    const faceDiff: number[] = [];
    const loud: number[] = [];
    const silent: number[] = [];
    const frameEnvelope = envelope(wav);
    for (let f = 1; f < frames.length; f++) {
      mouthDiff.push(meanDiff(frames[f], frames[f - 1], 512, mouth));
      faceDiff.push(meanDiff(frames[f], frames[f - 1], 512, face, [grow(animate.mouthBox, 24)]));
      loud.push(frameEnvelope[f] ?? 0);
      const t = f / 25;
      const inSpeech = vad.segments.some((s: { start: number; end: number }) => t >= s.start - 0.12 && t <= s.end + 0.12);
      if (!inSpeech) silent.push(mouthDiff.at(-1)!);
    }
    const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / Math.max(1, x.length);
    const smooth = (x: number[], k = 2) => x.map((_, i) => mean(x.slice(Math.max(0, i - k), i + k + 1)));
    // How open the mouth is (its difference from the first, silent and closed, frame) follows the loudness (0.75 in
    // a run here); the frame-to-frame difference follows the opening's changes, so over 200 ms it only leans the
    // same way (0.2 here): more movement while loud.
    const opening = frames.slice(1).map((fr) => meanDiff(fr, frames[0], 512, mouth));
    expect(pearson(opening, loud)).toBeGreaterThan(0.5);
    expect(pearson(smooth(mouthDiff), smooth(loud))).toBeGreaterThan(0.1);
    expect(mean(mouthDiff)).toBeGreaterThan(1);
    expect(silent.length).toBeGreaterThan(0);
    expect(mean(silent)).toBeLessThan(0.3);
    expect(mean(faceDiff)).toBeLessThan(0.02 * mean(mouthDiff));

    // Outside the matte (alpha 0, a few pixels in from its edge) the frame is the chosen background, #00ff00.
    const alpha = await sharp(await download(matte.cutout)).extractChannel(3).blur(3).raw().toBuffer();
    const { stdout: rgb } = await exec(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer', maxBuffer: 8 * 1024 * 1024 });
    let outside = 0;
    let green = 0;
    for (let i = 0; i < 512 * 512; i++) {
      if (alpha[i] !== 0) continue;
      outside++;
      if (rgb[i * 3] < 24 && rgb[i * 3 + 1] > 230 && rgb[i * 3 + 2] < 24) green++;
    }
    expect(outside).toBeGreaterThan(512 * 20);
    expect(green / outside).toBeGreaterThan(0.98);
  }, 300_000);

  it('a photo without a face fails the landmarks node with its 422, and the run says so', async () => {
    const portrait = await upload(await readFile(NO_FACE_PHOTO), 'image/png');
    const res = await api.system('POST', '/graphs/talking-portrait/runs?wait=true', { input: { prompt: 'coffee', portrait, sentences: 2 } });
    const done = await res.json();
    expect(done.status).toBe('failed');
    const record = await (await api.system('GET', `/runs/${done.runId ?? done.id}`)).json();
    const landmarks = record.nodes.find((n: { id?: string; node?: string }) => (n.id ?? n.node) === 'landmarks');
    expect(landmarks.status).toBe('failed');
    expect(JSON.stringify(landmarks.error)).toMatch(/no face/);
  }, 120_000);

  it('refuses an upload over the limit with a 413 naming it, from the CLI too', async () => {
    const big = join(work, 'big.jpg');
    await writeFile(big, Buffer.alloc(ARTIFACT_LIMIT + 1));
    const cli = await run(process.execPath, [join(ROOT, 'cli', 'bin', 'spindle.mjs'), 'artifacts', 'put', big, '-g', api.url], { env: { ...process.env, SPINDLE_ADMIN_PASSWORD: api.password }, timeoutMs: 60_000 });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('SPINDLE_MAX_ARTIFACT_BYTES');
  }, 60_000);
});

describe('bad input: a 4xx naming the field', { timeout: 120_000 }, () => {
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
