/** The loudness envelope on synthetic audio: silence, a tone of known RMS, smoothing, scaling and the VAD mask. */
import { describe, expect, it } from 'vitest';
import { frameRms, loudness, normalise, smoothEnvelope, speechMask } from './envelope.ts';

const RATE = 16_000;
const tone = (seconds: number, amplitude: number, hz = 250) => Float32Array.from({ length: seconds * RATE }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / RATE));

describe('envelope', () => {
  it('is zero for silence', () => {
    const silence = new Float32Array(RATE * 2);
    expect(Array.from(frameRms(silence, RATE, 25, 50)).every((v) => v === 0)).toBe(true);
    expect(Array.from(loudness(silence, RATE, 25, 50)).every((v) => v === 0)).toBe(true);
  });

  it('measures a sine of amplitude A as A/√2 over 40 ms windows (ten periods of 250 Hz)', () => {
    const rms = frameRms(tone(2, 0.5), RATE, 25, 50);
    // Frame 0's window runs off the start (half of it is before the audio): half the energy.
    expect(rms[0]).toBeCloseTo(0.5 / Math.SQRT2 / Math.SQRT2, 2);
    for (let f = 1; f < 49; f++) expect(rms[f]).toBeCloseTo(0.5 / Math.SQRT2, 3);
  });

  it('follows loudness: a louder second half gives larger values, scaled to 0..1', () => {
    const audio = new Float32Array(RATE * 2);
    audio.set(tone(1, 0.1), 0);
    audio.set(tone(1, 0.4), RATE);
    const env = loudness(audio, RATE, 25, 50);
    expect(env[40]).toBeCloseTo(1, 2);
    expect(env[15]).toBeGreaterThan(0.2);
    expect(env[15]).toBeLessThan(0.3);
    expect(Math.max(...env)).toBeLessThanOrEqual(1);
  });

  it('smooths with a faster attack than release', () => {
    const step = Float32Array.from({ length: 20 }, (_, i) => (i >= 5 && i < 10 ? 1 : 0));
    const s = smoothEnvelope(step, 0.3, 0.6);
    expect(s[5]).toBeCloseTo(0.7, 5);
    expect(s[10]).toBeCloseTo(s[9] * 0.6, 5);
    expect(s[4]).toBe(0);
  });

  it('normalises by the 90th percentile of the voiced values', () => {
    const v = Float32Array.from({ length: 100 }, (_, i) => (i < 50 ? 0 : (i - 49) / 50));
    const n = normalise(v);
    expect(n[99]).toBe(1);
    expect(n[94]).toBeCloseTo(1, 1);
    expect(n[0]).toBe(0);
  });

  it('masks frames outside the speech segments, with short ramps', () => {
    const m = speechMask([{ start: 1, end: 2 }], 25, 100);
    expect(m[10]).toBe(0);
    expect(m[37]).toBe(1);
    expect(m[25]).toBe(1);
    expect(m[24]).toBeGreaterThan(0);
    expect(m[24]).toBeLessThan(1);
    expect(m[60]).toBe(0);
  });
});
