/**
 * landmarks, animate and upscale as deployed bundles in real replicas behind a real gateway (their packages
 * stay installed: spindle.external), fed through the public artifacts API with the test portrait
 * (tests/faces.ts). The whole graph with speech and matte is tests/pipeline.test.ts's.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FFMPEG } from '../functions/animate/encoder.ts';
import { encodeWav } from '../functions/vad/wav.ts';
import { FACE_PHOTO, NO_FACE_PHOTO, needPhotos } from './faces.ts';
import { startPlatform, tempDir, type Api } from './harness.ts';

const run = promisify(execFile);
let api: Api;
let stop: () => Promise<void>;
let dir: string;

async function upload(bytes: Buffer, contentType: string): Promise<string> {
  const res = await fetch(`${api.url}/artifacts`, { method: 'POST', headers: { authorization: api.auth, 'content-type': contentType }, body: new Uint8Array(bytes) });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return ((await res.json()) as { key: string }).key;
}

async function download(key: string): Promise<Buffer> {
  const res = await fetch(`${api.url}/artifacts/${key}`, { headers: { authorization: api.auth } });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

async function call(name: string, input: unknown): Promise<{ status: number; body: Record<string, unknown> & { error?: { field?: string; message: string } } }> {
  const res = await api.invoke(name, { body: JSON.stringify(input), headers: { 'content-type': 'application/json' } });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  needPhotos();
  dir = await tempDir('spindle-portrait-');
  const started = await startPlatform();
  api = started.api;
  stop = started.stop;
  await Promise.all(
    ['landmarks', 'animate', 'upscale'].map(async (name) => {
      const res = await api.deploy(name, name);
      expect(res.status, await res.clone().text()).toBe(202);
    }),
  );
}, 120_000);
afterAll(() => stop?.());

describe('landmarks (deployed)', () => {
  it('finds the face in the portrait, 422 for a photo without one, 400 naming image for bytes that are no image or a missing key', async () => {
    const face = await call('landmarks', { image: await upload(await readFile(FACE_PHOTO), 'image/png') });
    expect(face.status, JSON.stringify(face.body)).toBe(200);
    expect(face.body).toMatchObject({ width: 512, height: 512 });
    expect(face.body.points).toHaveLength(68);
    const none = await call('landmarks', { image: await upload(await readFile(NO_FACE_PHOTO), 'image/png') });
    expect(none.status).toBe(422);
    expect(none.body.error).toMatchObject({ field: 'image', message: 'no face found in the image' });
    const junk = await call('landmarks', { image: await upload(Buffer.from('plain text, not a picture'), 'text/plain') });
    expect(junk.status).toBe(400);
    expect(junk.body.error?.field).toBe('image');
    const missing = await call('landmarks', { image: 'uploads/never-uploaded.png' });
    expect(missing.status).toBe(400);
    expect(missing.body.error?.field).toBe('image');
  }, 90_000);
});

describe('animate (deployed)', () => {
  it('makes an H.264 video as long as the speech whose mouth moves only while it speaks, over the chosen background', async () => {
    const photo = await readFile(FACE_PHOTO);
    const landmarks = await call('landmarks', { image: await upload(photo, 'image/png') });
    expect(landmarks.status).toBe(200);
    // A matte stand-in: the portrait inside an ellipse around head and shoulders (matte itself runs in the GPU runner).
    const ellipse = `<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512"><ellipse cx="230" cy="300" rx="150" ry="260" fill="#fff"/></svg>`;
    const alpha = await sharp(Buffer.from(ellipse)).extractChannel(0).raw().toBuffer();
    // (sharp removes alpha after joining channels in one pipeline: take the RGB pixels first.)
    const rgb = await sharp(photo).removeAlpha().raw().toBuffer();
    const cutout = await sharp(rgb, { raw: { width: 512, height: 512, channels: 3 } }).joinChannel(alpha, { raw: { width: 512, height: 512, channels: 1 } }).png().toBuffer();
    expect((await sharp(cutout).metadata()).channels).toBe(4);
    // 2.4 s: silence, 1.2 s of syllable-like bursts, silence.
    const rate = 16_000;
    const samples = new Float32Array(Math.round(2.4 * rate));
    for (let i = Math.round(0.6 * rate); i < 1.8 * rate; i++) samples[i] = 0.5 * Math.abs(Math.sin(Math.PI * 5 * (i / rate))) * Math.sin((2 * Math.PI * 180 * i) / rate);
    const phones = ['aa', 'm', 'iy', 'p', 'ow', 'b', 'ae', 'f', 'uw', 'aa', 'l', 'ey', 'm', 'ah', 'p'].map((phone, k) => ({ phone, start: 0.6 + k * 0.08, end: 0.68 + k * 0.08 }));
    const res = await call('animate', {
      portrait: await upload(photo, 'image/png'),
      cutout: await upload(cutout, 'image/png'),
      landmarks: landmarks.body,
      audio: await upload(encodeWav(samples, rate), 'audio/wav'),
      phonemes: [{ phone: 'pau', start: 0, end: 0.6 }, ...phones, { phone: 'pau', start: 1.8, end: 2.4 }],
      segments: [{ start: 0.6, end: 1.8 }],
      background: { color: '#10a040' },
      sway: 0,
      blink: false,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ frames: 60, fps: 25, width: 512, height: 512, duration: 2.4 });
    const file = join(dir, 'animate.mp4');
    await writeFile(file, await download(res.body.video as string));
    const probe = await run(FFMPEG, ['-hide_banner', '-i', file]).catch((e: { stderr: string }) => e);
    expect(probe.stderr).toMatch(/Video: h264 .*yuv420p.*512x512.*25 fps/);
    const { stdout } = await run(FFMPEG, ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { encoding: 'buffer', maxBuffer: 100 * 1024 * 1024 });
    const frameBytes = 512 * 512 * 3;
    expect(stdout.length).toBe(60 * frameBytes);
    const box = res.body.mouthBox as { x: number; y: number; width: number; height: number };
    const inBox = (x: number, y: number) => x >= box.x && x < box.x + box.width && y >= box.y && y < box.y + box.height;
    // Mean absolute change from the previous frame, inside the mouth's box and elsewhere.
    const change = (f: number, inside: boolean) => {
      let sum = 0;
      let n = 0;
      for (let y = 0; y < 512; y += 2) {
        for (let x = 0; x < 512; x += 2) {
          if (inBox(x, y) !== inside) continue;
          const i = (y * 512 + x) * 3;
          for (let k = 0; k < 3; k++) sum += Math.abs(stdout[f * frameBytes + i + k] - stdout[(f - 1) * frameBytes + i + k]);
          n += 3;
        }
      }
      return sum / n;
    };
    const mouth = Array.from({ length: 59 }, (_, k) => change(k + 1, true));
    const rest = Array.from({ length: 59 }, (_, k) => change(k + 1, false));
    // Silence (frames 1-12 and 48-59, away from the ramps): the mouth is still; speech: it moves.
    expect(Math.max(...mouth.slice(0, 12), ...mouth.slice(48))).toBeLessThan(0.5);
    expect(Math.max(...mouth.slice(16, 44))).toBeGreaterThan(3);
    // The rest of the picture (no blink, no sway here) changes by encoder noise at most.
    expect(Math.max(...rest)).toBeLessThan(0.5);
    // Outside the matte, the chosen background.
    const corner = Array.from(stdout.subarray(30 * frameBytes + (10 * 512 + 10) * 3, 30 * frameBytes + (10 * 512 + 10) * 3 + 3));
    expect(Math.abs(corner[0] - 0x10) + Math.abs(corner[1] - 0xa0) + Math.abs(corner[2] - 0x40)).toBeLessThan(12);
  }, 120_000);

  it('names the field of bad input: a cut-out of another size, a missing audio key', async () => {
    const photo = await upload(await readFile(FACE_PHOTO), 'image/png');
    const small = await upload(await sharp(await readFile(FACE_PHOTO)).resize(100, 100).ensureAlpha().png().toBuffer(), 'image/png');
    const points = Array.from({ length: 68 }, (_, i) => [200 + i, 200 + (i % 10)]);
    const base = { portrait: photo, cutout: photo, landmarks: { width: 512, height: 512, points }, audio: 'uploads/no-such.wav', phonemes: [], segments: [] };
    const noAudio = await call('animate', base);
    expect(noAudio.status).toBe(400);
    expect(noAudio.body.error?.field).toBe('audio');
    const wav = await upload(encodeWav(new Float32Array(16_000), 16_000), 'audio/wav');
    const sized = await call('animate', { ...base, audio: wav, cutout: small });
    expect(sized.status).toBe(400);
    expect(sized.body.error?.field).toBe('cutout');
    const badColor = await call('animate', { ...base, audio: wav, background: { color: 'green' } });
    expect(badColor.status).toBe(400);
    expect(badColor.body.error?.message).toMatch(/background/);
  }, 60_000);
});

describe('upscale (deployed)', () => {
  it('doubles an image, passes it through when disabled, and refuses one over its size cap naming image', async () => {
    const crop = await sharp(await readFile(FACE_PHOTO)).extract({ left: 180, top: 80, width: 96, height: 96 }).png().toBuffer();
    const res = await call('upscale', { image: await upload(crop, 'image/png') });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ width: 192, height: 192, scale: 2 });
    expect(await sharp(await download(res.body.image as string)).metadata()).toMatchObject({ width: 192, height: 192, format: 'png' });
    // Disabled, it answers the image itself (the graph's portrait node when the input does not ask for upscaling).
    const key = await upload(crop, 'image/png');
    expect(await call('upscale', { image: key, enabled: false })).toMatchObject({ status: 200, body: { image: key, width: 96, height: 96, scale: 1 } });
    const big = await call('upscale', { image: await upload(await sharp(await readFile(NO_FACE_PHOTO)).resize(800).png().toBuffer(), 'image/png') });
    expect(big.status).toBe(413);
    expect(big.body.error?.field).toBe('image');
  }, 60_000);
});
