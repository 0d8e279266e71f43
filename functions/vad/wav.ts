/** WAV in, 16 kHz mono float samples out: PCM 8/16/24/32-bit or float 32/64, any channel count, most rates. */
import { HttpError } from '@spindle/runtime';

/** Decoded audio, before resampling. */
export interface Wav {
  sampleRate: number;
  channels: number;
  /** Mono samples in [-1, 1] (channels averaged). */
  samples: Float32Array;
}

const PCM = 1;
const FLOAT = 3;
const EXTENSIBLE = 0xfffe;

const bad = (message: string) => new HttpError(400, message, { code: 'SPINDLE_INVALID_AUDIO' });

/** Parses a RIFF/WAVE body; 400 naming what is wrong when it is not one this function reads. */
export function decodeWav(body: Buffer): Wav {
  if (body.length < 12 || body.toString('latin1', 0, 4) !== 'RIFF' || body.toString('latin1', 8, 12) !== 'WAVE') {
    throw bad('the body is not a WAV file (no RIFF/WAVE header): send 16 kHz mono 16-bit PCM WAV');
  }
  let fmt: { format: number; channels: number; sampleRate: number; bits: number; blockAlign: number } | null = null;
  let data: Buffer | null = null;
  for (let at = 12; at + 8 <= body.length; ) {
    const id = body.toString('latin1', at, at + 4);
    const size = body.readUInt32LE(at + 4);
    const start = at + 8;
    // A truncated file, or a streaming writer's 0xFFFFFFFF data size: take what is there.
    const end = Math.min(body.length, start + size);
    if (id === 'fmt ') {
      if (size < 16 || end - start < 16) throw bad('the WAV "fmt " chunk is truncated');
      let format = body.readUInt16LE(start);
      if (format === EXTENSIBLE && size >= 40 && end - start >= 26) format = body.readUInt16LE(start + 24);
      fmt = { format, channels: body.readUInt16LE(start + 2), sampleRate: body.readUInt32LE(start + 4), blockAlign: body.readUInt16LE(start + 12), bits: body.readUInt16LE(start + 14) };
    } else if (id === 'data') {
      data = body.subarray(start, size === 0xffffffff ? body.length : end);
      if (fmt || size === 0xffffffff) break;
    }
    at = start + size + (size & 1);
  }
  if (!fmt) throw bad('the WAV file has no "fmt " chunk');
  if (!data) throw bad('the WAV file has no "data" chunk');
  const { format, channels, sampleRate, bits } = fmt;
  if (channels < 1 || channels > 16) throw bad(`the WAV file has ${channels} channels: 1 to 16 are supported (they are mixed down to mono)`);
  if (sampleRate < 8000 || sampleRate > 384_000) throw bad(`the WAV sample rate is ${sampleRate} Hz: 8000 to 384000 Hz are supported (16000 Hz is used as is)`);
  const read = reader(format, bits);
  if (!read) throw bad(`the WAV encoding (format ${format}, ${bits} bits) is not supported: send PCM (8, 16, 24 or 32 bits) or float (32 or 64 bits)`);
  const width = bits / 8;
  const frame = width * channels;
  const frames = Math.floor(data.length / frame);
  const samples = new Float32Array(frames);
  for (let i = 0, off = 0; i < frames; i++, off += frame) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += read(data, off + c * width);
    samples[i] = sum / channels;
  }
  return { sampleRate, channels, samples };
}

function reader(format: number, bits: number): ((b: Buffer, off: number) => number) | null {
  if (format === PCM) {
    if (bits === 8) return (b, o) => (b[o] - 128) / 128;
    if (bits === 16) return (b, o) => b.readInt16LE(o) / 32768;
    if (bits === 24) return (b, o) => b.readIntLE(o, 3) / 8388608;
    if (bits === 32) return (b, o) => b.readInt32LE(o) / 2147483648;
  }
  if (format === FLOAT) {
    if (bits === 32) return (b, o) => b.readFloatLE(o);
    if (bits === 64) return (b, o) => b.readDoubleLE(o);
  }
  return null;
}

/** Resamples to `rate`: averages the source samples under each output sample when downsampling (a box filter against aliasing), interpolates linearly when upsampling. */
export function resample(samples: Float32Array, from: number, rate: number): Float32Array {
  if (from === rate) return samples;
  const n = Math.floor((samples.length * rate) / from);
  const out = new Float32Array(n);
  const step = from / rate;
  if (step > 1) {
    for (let i = 0; i < n; i++) {
      const a = Math.floor(i * step);
      const b = Math.min(samples.length, Math.max(a + 1, Math.floor((i + 1) * step)));
      let sum = 0;
      for (let j = a; j < b; j++) sum += samples[j];
      out[i] = sum / (b - a);
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    const x = i * step;
    const a = Math.floor(x);
    const b = Math.min(samples.length - 1, a + 1);
    out[i] = samples[a] + (samples[b] - samples[a]) * (x - a);
  }
  return out;
}

/**
 * Writes 16-bit PCM WAV (mono unless `channels` says otherwise; interleaved samples in [-1, 1]).
 * @example await writeFile('tone.wav', encodeWav(Float32Array.from({ length: 16000 }, (_, i) => Math.sin(i / 10)), 16000));
 */
export function encodeWav(samples: Float32Array, sampleRate: number, channels = 1): Buffer {
  const out = Buffer.alloc(44 + samples.length * 2);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + samples.length * 2, 4);
  out.write('WAVEfmt ', 8, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(PCM, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * channels * 2, 28);
  out.writeUInt16LE(channels * 2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(samples.length * 2, 40);
  for (const [i, s] of samples.entries()) out.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s)) * 32767), 44 + i * 2);
  return out;
}
