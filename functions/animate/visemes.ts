/**
 * Phonemes → mouth shapes. The nine Preston Blair visemes (the classic animator's set: rest, MBP, FV, L, E,
 * AI, O, U, WQ, plus CDGK for the consonants that barely shape the lips), each an opening (0 closed … 1
 * wide open) and a width change (-1 pursed … +1 spread). Flite's CMU US phone set maps onto them. Frames
 * blend the shapes around them (co-articulation): a triangular window of ±COARTIC_S, where closures (MBP)
 * and lip-teeth contacts (FV) weigh more, so a short /p/ still shuts the mouth between two vowels.
 */

export type Viseme = 'rest' | 'MBP' | 'FV' | 'L' | 'E' | 'AI' | 'O' | 'U' | 'WQ' | 'CDGK';

/** A mouth shape: opening 0..1, width change -1..1, and how strongly it wins against its neighbours. */
export interface Shape {
  open: number;
  width: number;
  dominance: number;
}

export const SHAPES: Record<Viseme, Shape> = {
  rest: { open: 0, width: 0, dominance: 1 },
  MBP: { open: 0, width: -0.05, dominance: 4 },
  FV: { open: 0.12, width: 0.05, dominance: 2.5 },
  L: { open: 0.45, width: 0.05, dominance: 1 },
  E: { open: 0.4, width: 0.35, dominance: 1 },
  AI: { open: 1, width: 0.15, dominance: 1 },
  O: { open: 0.75, width: -0.35, dominance: 1.2 },
  U: { open: 0.35, width: -0.55, dominance: 1.5 },
  WQ: { open: 0.25, width: -0.6, dominance: 1.5 },
  CDGK: { open: 0.3, width: 0.1, dominance: 0.8 },
};

/** Flite's (CMU US) phones by viseme; anything else (pau, unknowns) is rest. */
const GROUPS: Record<Exclude<Viseme, 'rest'>, string[]> = {
  MBP: ['m', 'b', 'p'],
  FV: ['f', 'v'],
  L: ['l', 'th', 'dh'],
  E: ['eh', 'ey', 'ih', 'iy', 'ae', 'y'],
  AI: ['aa', 'ah', 'ay', 'aw', 'ax', 'hh'],
  O: ['ao', 'ow', 'oy', 'er', 'axr', 'r'],
  U: ['uh', 'uw'],
  WQ: ['w'],
  CDGK: ['k', 'g', 'ng', 'n', 't', 'd', 's', 'z', 'sh', 'zh', 'ch', 'jh'],
};

const BY_PHONE = new Map<string, Viseme>(Object.entries(GROUPS).flatMap(([v, phones]) => phones.map((p) => [p, v as Viseme])));

/**
 * The viseme of a phone, case and stress digits ignored ("AA1" = "aa"); rest for pauses and unknown phones.
 * @example visemeOf('uw') // 'U'
 */
export function visemeOf(phone: string): Viseme {
  return BY_PHONE.get(phone.toLowerCase().replace(/[0-9]/g, '')) ?? 'rest';
}

/** A timed phone, as `tts` answers. */
export interface Phone {
  phone: string;
  start: number;
  end: number;
}

/** Half-width of the co-articulation window, in seconds. */
export const COARTIC_S = 0.06;
const SAMPLES = 9;

/**
 * Per video frame, the blended mouth shape (opening and width) at the frame's time: the shapes of the phones
 * under a triangular window centred there, weighted by window × dominance. Times outside every phone are rest.
 * @example const { open, width } = shapeTrack(phones, 25, 250);
 */
export function shapeTrack(phones: Phone[], fps: number, frames: number): { open: Float32Array; width: Float32Array } {
  const sorted = phones.filter((p) => p.end > p.start).sort((a, b) => a.start - b.start);
  const open = new Float32Array(frames);
  const width = new Float32Array(frames);
  let first = 0;
  for (let f = 0; f < frames; f++) {
    const t = f / fps;
    while (first < sorted.length && sorted[first].end < t - COARTIC_S) first++;
    let wSum = 0;
    let oSum = 0;
    let xSum = 0;
    for (let s = 0; s < SAMPLES; s++) {
      const offset = ((s / (SAMPLES - 1)) * 2 - 1) * COARTIC_S;
      const tri = 1 - Math.abs(offset) / (COARTIC_S * 1.0001);
      const at = t + offset;
      let shape = SHAPES.rest;
      for (let i = first; i < sorted.length && sorted[i].start <= at; i++) {
        if (at < sorted[i].end) {
          shape = SHAPES[visemeOf(sorted[i].phone)];
          break;
        }
      }
      const w = tri * shape.dominance;
      wSum += w;
      oSum += w * shape.open;
      xSum += w * shape.width;
    }
    open[f] = wSum > 0 ? oSum / wSum : 0;
    width[f] = wSum > 0 ? xSum / wSum : 0;
  }
  return { open, width };
}
