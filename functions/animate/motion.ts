/**
 * Per-frame motion besides the visemes: how far the mouth opens (viseme × loudness, shut outside speech),
 * when the eyes blink (every 2.5–5 s, 200 ms each, from a seeded generator so a run is reproducible) and
 * the head's slow sway (a small rotation and shift, two incommensurate sines, so it never visibly loops).
 */
import { mulberry32 } from '../media/random.ts';
import { loudness, speechMask } from './envelope.ts';
import { shapeTrack, type Phone } from './visemes.ts';

/** Per frame: mouth opening 0..1 and width change -1..1. */
export interface MouthTrack {
  open: Float32Array;
  width: Float32Array;
}

/**
 * The mouth per frame: the viseme's opening scaled by the speech's loudness (a quiet syllable opens less,
 * a loud one more), times the VAD mask, so the mouth is shut in silence whatever the phonemes say.
 * @example mouthTrack(phones, samples, 16000, segments, 25, 250)
 */
export function mouthTrack(phones: Phone[], samples: Float32Array, sampleRate: number, segments: Array<{ start: number; end: number }>, fps: number, frames: number): MouthTrack {
  const shapes = shapeTrack(phones, fps, frames);
  const loud = loudness(samples, sampleRate, fps, frames);
  const mask = speechMask(segments, fps, frames);
  const open = new Float32Array(frames);
  const width = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    const gate = mask[f] * Math.min(1, loud[f] * 4);
    open[f] = Math.min(1, (shapes.open[f] * (0.35 + 0.75 * loud[f]) + 0.12 * loud[f]) * gate);
    width[f] = shapes.width[f] * gate;
  }
  return { open, width };
}

/** Blink length, seconds. */
export const BLINK_S = 0.2;

/**
 * Per frame, how closed the eyes are (0..1): a blink every 2.5–5 s, the first after 1–2.5 s.
 * @example blinkTrack(25, 250, 7)
 */
export function blinkTrack(fps: number, frames: number, seed = 1): Float32Array {
  const out = new Float32Array(frames);
  const next = mulberry32(seed);
  const duration = frames / fps;
  for (let t = 1 + next() * 1.5; t < duration; t += 2.5 + next() * 2.5) {
    const from = Math.floor(t * fps);
    const to = Math.min(frames, Math.ceil((t + BLINK_S) * fps));
    for (let f = from; f < to; f++) {
      const phase = (f / fps - t) / BLINK_S;
      // Down fast, up a little slower: a triangle peaking at 40% of the blink.
      out[f] = Math.max(out[f], phase < 0.4 ? phase / 0.4 : (1 - phase) / 0.6);
    }
  }
  return out;
}

/** The head's pose in one frame: rotation (radians) about the pivot and a shift (px). */
export interface Pose {
  angle: number;
  dx: number;
  dy: number;
}

/** At sway amount 1: the largest turn (radians) and sideways and vertical shifts (px). */
const MAX_ANGLE = (0.8 * Math.PI) / 180;
const MAX_DX = 1.5;
const MAX_DY = 1.0;

/**
 * The sway at time t: at amount 1, at most 0.8° of rotation and 1.5 px / 1 px of shift, over 5–7 s periods.
 * @example sway(2.5, 1) // { angle: …, dx: …, dy: … }
 */
export function sway(t: number, amount: number): Pose {
  return {
    angle: amount * MAX_ANGLE * Math.sin((2 * Math.PI * t) / 6.7),
    dx: amount * MAX_DX * Math.sin((2 * Math.PI * t) / 5.3 + 1),
    dy: amount * MAX_DY * Math.sin((2 * Math.PI * t) / 7.1 + 2),
  };
}

/** The farthest the sway at `amount` can move a point `radius` px from its pivot, px. */
export function swayReach(amount: number, radius: number): number {
  return amount * (MAX_ANGLE * radius + Math.hypot(MAX_DX, MAX_DY));
}
