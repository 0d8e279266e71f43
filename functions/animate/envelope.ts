/**
 * The speech's loudness per video frame: RMS over a 40 ms window centred on each frame, smoothed (fast attack,
 * slower release, as a jaw moves) and scaled to 0..1 by a high percentile of the voiced frames, so one loud
 * syllable does not leave the rest of the speech mumbled. VAD segments gate it: outside speech the mouth rests.
 */

/** Window of the RMS, in seconds. */
export const WINDOW_S = 0.04;

/**
 * RMS of `samples` over a window of `windowS` centred on each frame's time (f / fps); zero past the end.
 * @example frameRms(samples, 16000, 25, 250) // 250 values
 */
export function frameRms(samples: Float32Array, sampleRate: number, fps: number, frames: number, windowS = WINDOW_S): Float32Array {
  const out = new Float32Array(frames);
  const half = Math.max(1, Math.round((windowS * sampleRate) / 2));
  for (let f = 0; f < frames; f++) {
    const centre = Math.round((f / fps) * sampleRate);
    const from = Math.max(0, centre - half);
    const to = Math.min(samples.length, centre + half);
    let sum = 0;
    for (let i = from; i < to; i++) sum += samples[i] * samples[i];
    // Divided by the full window: a window running off either end of the audio counts the missing part as silence.
    out[f] = to > from ? Math.sqrt(sum / (2 * half)) : 0;
  }
  return out;
}

/**
 * One-pole smoothing with separate attack and release coefficients (0 = no smoothing, near 1 = slow).
 * @example smoothEnvelope(rms, 0.3, 0.6)
 */
export function smoothEnvelope(values: Float32Array, attack = 0.3, release = 0.55): Float32Array {
  const out = new Float32Array(values.length);
  let y = 0;
  for (let i = 0; i < values.length; i++) {
    const k = values[i] > y ? attack : release;
    y = k * y + (1 - k) * values[i];
    out[i] = y;
  }
  return out;
}

/** Scales to 0..1 by the 90th percentile of the values above a noise floor (1% of the maximum); clamps above. */
export function normalise(values: Float32Array): Float32Array {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  const out = new Float32Array(values.length);
  if (max <= 1e-6) return out;
  const voiced = Array.from(values.filter((v) => v > max * 0.01)).sort((a, b) => a - b);
  const ref = voiced[Math.min(voiced.length - 1, Math.floor(voiced.length * 0.9))] || max;
  for (let i = 0; i < values.length; i++) out[i] = Math.min(1, values[i] / ref);
  return out;
}

/**
 * Per frame, 1 inside a speech segment and 0 outside, with `rampS` linear ramps at the edges.
 * @example speechMask([{ start: 0.5, end: 2 }], 25, 100)
 */
export function speechMask(segments: Array<{ start: number; end: number }>, fps: number, frames: number, rampS = 0.08): Float32Array {
  const out = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    const t = f / fps;
    let m = 0;
    for (const s of segments) {
      const inside = Math.min(t - (s.start - rampS), s.end + rampS - t) / rampS;
      if (inside > m) m = inside;
    }
    out[f] = Math.min(1, Math.max(0, m));
  }
  return out;
}

/** The smoothed, normalised loudness per frame. */
export function loudness(samples: Float32Array, sampleRate: number, fps: number, frames: number): Float32Array {
  return normalise(smoothEnvelope(frameRms(samples, sampleRate, fps, frames)));
}
