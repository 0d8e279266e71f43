/** A synthetic voice for VAD tests: glottal pulses through vowel formants, in syllables (no recording, no TTS). */

/** Deterministic noise in [-1, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 0x100000000) * 2 - 1;
  };
}

// F1, F2, F3 (Hz) of a few vowels.
const VOWELS: Array<[number, number, number]> = [
  [730, 1090, 2440], // a
  [270, 2290, 3010], // i
  [300, 870, 2240], // u
  [530, 1840, 2480], // e
  [570, 840, 2410], // o
];

/** Two-pole resonator coefficients for a formant at `f` Hz with bandwidth `bw`. */
function resonator(f: number, bw: number, rate: number): [number, number, number] {
  const r = Math.exp((-Math.PI * bw) / rate);
  const a1 = 2 * r * Math.cos((2 * Math.PI * f) / rate);
  const a2 = -r * r;
  return [1 - a1 - a2, a1, a2];
}

/**
 * `seconds` of voiced, syllabic sound at `rate` Hz: a glottal pulse train (f0 around 120 Hz with
 * intonation and jitter) through three vowel formants, 4-5 syllables a second with a smooth envelope.
 */
export function voice(seconds: number, rate = 16_000, seed = 1): Float32Array {
  const n = Math.round(seconds * rate);
  const out = new Float32Array(n);
  const noise = rng(seed);
  const syllable = 0.22;
  let phase = 0;
  const state = VOWELS.map(() => [0, 0, 0, 0, 0, 0]);
  let peak = 0;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const k = Math.floor(t / syllable);
    const vowel = VOWELS[(k * 3 + seed) % VOWELS.length];
    const within = (t % syllable) / syllable;
    // Each syllable rises and falls; a short dip between syllables, as between spoken ones.
    const env = Math.sin(Math.PI * Math.min(1, within / 0.9)) ** 0.6 * (0.7 + 0.3 * Math.sin(k * 1.7));
    const f0 = 120 + 25 * Math.sin(2 * Math.PI * 0.7 * t) + 10 * Math.sin(k) + 2 * noise();
    phase += f0 / rate;
    // Glottal flow derivative, roughly: a sharp negative pulse each period plus a little aspiration noise.
    let src = 0;
    if (phase >= 1) {
      phase -= 1;
      src = -1;
    }
    src += 0.02 * noise();
    let y = 0;
    for (let f = 0; f < 3; f++) {
      const [g, a1, a2] = resonator(vowel[f], 60 + 40 * f, rate);
      const s = state[f];
      const v = g * src + a1 * s[0] + a2 * s[1];
      s[1] = s[0];
      s[0] = v;
      y += v / (f + 1);
    }
    out[i] = y * env;
    peak = Math.max(peak, Math.abs(out[i]));
  }
  for (let i = 0; i < n; i++) out[i] = (out[i] / (peak || 1)) * 0.6;
  return out;
}

/** `seconds` of near silence: very quiet noise, as a real room has. */
export function hush(seconds: number, rate = 16_000, seed = 2): Float32Array {
  const noise = rng(seed);
  return Float32Array.from({ length: Math.round(seconds * rate) }, () => noise() * 0.001);
}

/** Joins pieces of audio. */
export function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
