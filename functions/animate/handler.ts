/**
 * animate: a talking portrait as a video-only H.264 intermediate. The mouth follows the phonemes (visemes),
 * scaled by the speech's loudness and shut outside the VAD's segments; the eyes blink; the head sways a little;
 * the matted portrait stands on the chosen background. Frames go to ffmpeg one at a time.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HttpError, defineFunction, type FunctionContext } from '@spindle/runtime';
import { decodeWav } from '../vad/wav.ts';
import { readArtifact } from '../media/artifact.ts';
import { decodeImage } from '../media/image.ts';
import { gradientBackground, imageBackground, solidBackground } from './composite.ts';
import { VideoEncoder } from './encoder.ts';
import { blinkTrack, mouthTrack } from './motion.ts';
import { buildScene, renderFrames, roiBox } from './scene.ts';
import type { Point } from './warp.ts';

/** Longest speech animated in one call, seconds. */
const MAX_SECONDS = 600;
const DEFAULT_BACKGROUND = '#26324a';
const key = { type: 'string', minLength: 1, maxLength: 512 } as const;
const color = { type: 'string', pattern: '^#[0-9a-fA-F]{6}$' } as const;
const point = { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 } as const;
const box = { type: 'object', required: ['x', 'y', 'width', 'height'], properties: { x: { type: 'number' }, y: { type: 'number' }, width: { type: 'number' }, height: { type: 'number' } } } as const;

async function readAudio(ctx: FunctionContext, audioKey: string): Promise<{ samples: Float32Array; sampleRate: number }> {
  const bytes = await readArtifact(ctx, audioKey, 'audio');
  try {
    return decodeWav(bytes);
  } catch (err) {
    throw new HttpError(400, `field "audio": ${(err as Error).message}`, { code: 'SPINDLE_INVALID_AUDIO', field: 'audio', cause: err });
  }
}

async function backgroundOf(ctx: FunctionContext, spec: { color?: string; gradient?: string[]; image?: string } | undefined, size: number): Promise<Uint8Array> {
  if (spec?.image) return imageBackground(await readArtifact(ctx, spec.image, 'background.image'), size, size);
  if (spec?.gradient) return gradientBackground(spec.gradient[0], spec.gradient[1], size, size);
  return solidBackground(spec?.color ?? DEFAULT_BACKGROUND, size, size);
}

export default defineFunction({
  input: {
    type: 'object',
    required: ['portrait', 'cutout', 'landmarks', 'audio', 'phonemes', 'segments'],
    properties: {
      portrait: { ...key, description: 'artifact key of the portrait (PNG/JPEG/WebP)' },
      cutout: { ...key, description: "artifact key of matte's RGBA cut-out of the same portrait" },
      landmarks: {
        type: 'object',
        required: ['width', 'height', 'points'],
        properties: { width: { type: 'integer', minimum: 1 }, height: { type: 'integer', minimum: 1 }, points: { type: 'array', items: point, minItems: 68, maxItems: 68 } },
      },
      audio: { ...key, description: 'artifact key of the speech (WAV)' },
      phonemes: {
        type: 'array',
        maxItems: 50_000,
        items: { type: 'object', required: ['phone', 'start', 'end'], properties: { phone: { type: 'string', maxLength: 16 }, start: { type: 'number' }, end: { type: 'number' } } },
      },
      segments: {
        type: 'array',
        maxItems: 10_000,
        items: { type: 'object', required: ['start', 'end'], properties: { start: { type: 'number' }, end: { type: 'number' } } },
      },
      background: {
        oneOf: [
          { type: 'object', required: ['color'], properties: { color }, additionalProperties: false },
          { type: 'object', required: ['gradient'], properties: { gradient: { type: 'array', items: color, minItems: 2, maxItems: 2 } }, additionalProperties: false },
          { type: 'object', required: ['image'], properties: { image: key }, additionalProperties: false },
        ],
      },
      fps: { type: 'integer', minimum: 10, maximum: 60, default: 25 },
      size: { type: 'integer', minimum: 128, maximum: 1024, multipleOf: 2, default: 512 },
      sway: { type: 'number', minimum: 0, maximum: 2, default: 1, description: 'head sway amount; 0 keeps the head still' },
      blink: { type: 'boolean', default: true },
      seed: { type: 'integer', minimum: 0, maximum: 4_294_967_295, default: 1, description: 'seeds the blink times' },
    },
    additionalProperties: false,
  },
  output: {
    type: 'object',
    required: ['video', 'frames', 'fps', 'width', 'height', 'duration', 'mouthBox', 'eyeBoxes'],
    properties: {
      video: { type: 'string' },
      frames: { type: 'integer' },
      fps: { type: 'integer' },
      width: { type: 'integer' },
      height: { type: 'integer' },
      duration: { type: 'number' },
      mouthBox: box,
      eyeBoxes: { type: 'array', items: box },
    },
  },
  handle: async (input, ctx) => {
    const fps = input.fps ?? 25;
    const size = input.size ?? 512;
    const [portraitBytes, cutoutBytes, audio, bg] = await Promise.all([
      readArtifact(ctx, input.portrait, 'portrait'),
      readArtifact(ctx, input.cutout, 'cutout'),
      readAudio(ctx, input.audio),
      backgroundOf(ctx, input.background, size),
    ]);
    const [portrait, cutout] = await Promise.all([decodeImage(portraitBytes, 'portrait'), decodeImage(cutoutBytes, 'cutout', { alpha: true })]);
    if (cutout.width !== portrait.width || cutout.height !== portrait.height) {
      throw new HttpError(400, `field "cutout" is ${cutout.width}×${cutout.height}, the portrait ${portrait.width}×${portrait.height}: matte the same image`, { field: 'cutout' });
    }
    const { landmarks } = input;
    if (Math.abs(landmarks.width - portrait.width) > 1 || Math.abs(landmarks.height - portrait.height) > 1) {
      throw new HttpError(400, `field "landmarks" are for a ${landmarks.width}×${landmarks.height} image, the portrait is ${portrait.width}×${portrait.height}`, { field: 'landmarks' });
    }
    const duration = audio.samples.length / audio.sampleRate;
    if (duration > MAX_SECONDS) throw new HttpError(413, `field "audio" is ${duration.toFixed(1)} s long, more than ${MAX_SECONDS} s`, { field: 'audio' });
    const frames = Math.round(duration * fps);
    if (frames < 1) throw new HttpError(400, 'field "audio" is shorter than one frame', { field: 'audio' });

    const scene = await buildScene(portrait, cutout, landmarks.points as Point[], size);
    const mouth = mouthTrack(input.phonemes, audio.samples, audio.sampleRate, input.segments, fps, frames);
    const blink = input.blink === false ? new Float32Array(frames) : blinkTrack(fps, frames, input.seed ?? 1);
    ctx.progress(0.05, `${frames} frames to draw`);

    const dir = await mkdtemp(path.join(tmpdir(), 'spindle-animate-'));
    try {
      const file = path.join(dir, 'video.mp4');
      const encoder = new VideoEncoder(file, size, size, fps, ctx.signal);
      let reported = 0;
      try {
        await renderFrames(scene, bg, { ...mouth, blink, sway: input.sway ?? 1, fps }, async (rgb, f) => {
          await encoder.write(rgb);
          const tenth = Math.floor(((f + 1) / frames) * 10);
          if (tenth > reported) {
            reported = tenth;
            ctx.progress(0.05 + 0.9 * ((f + 1) / frames), `frame ${f + 1} of ${frames}`);
          }
        });
        await encoder.finish();
      } catch (err) {
        encoder.kill();
        throw err;
      }
      // Named by its content (as tts and render name theirs): a caller choosing its X-Call-Id cannot overwrite another's video.
      const video = await readFile(file);
      const stored = await ctx.artifacts.put(`animate/${createHash('sha256').update(video).digest('hex')}.mp4`, video, 'video/mp4');
      return {
        video: stored.key,
        frames,
        fps,
        width: size,
        height: size,
        duration: frames / fps,
        mouthBox: roiBox(scene.mouth),
        eyeBoxes: scene.eyes.map(roiBox),
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
});
