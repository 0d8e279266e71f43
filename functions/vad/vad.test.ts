/** WAV decoding, conversion and segmenting, without the model. */
import { describe, expect, it } from 'vitest';
import { toSegments } from './segments.ts';
import { decodeWav, encodeWav, resample } from './wav.ts';

/** A WAV header + data for any format/width, samples already encoded. */
function wav(format: number, bits: number, channels: number, rate: number, data: Buffer): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(format, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE((rate * channels * bits) / 8, 28);
  h.writeUInt16LE((channels * bits) / 8, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

describe('decodeWav', () => {
  it('reads 16-bit PCM as written by encodeWav', () => {
    const samples = Float32Array.from([0, 0.5, -0.5, 0.25]);
    const w = decodeWav(encodeWav(samples, 16_000));
    expect(w).toMatchObject({ sampleRate: 16_000, channels: 1 });
    for (const [i, s] of w.samples.entries()) expect(s).toBeCloseTo(samples[i], 3);
  });

  it('mixes channels down and reads 24-bit PCM and float', () => {
    const stereo = Buffer.alloc(12);
    stereo.writeIntLE(4_194_304, 0, 3); // 0.5
    stereo.writeIntLE(0, 3, 3);
    stereo.writeIntLE(-8_388_608, 6, 3); // -1
    stereo.writeIntLE(-8_388_608, 9, 3);
    expect([...decodeWav(wav(1, 24, 2, 16_000, stereo)).samples]).toEqual([0.25, -1]);
    const f = Buffer.alloc(8);
    f.writeFloatLE(0.125, 0);
    f.writeFloatLE(-0.75, 4);
    expect([...decodeWav(wav(3, 32, 1, 48_000, f)).samples]).toEqual([0.125, -0.75]);
  });

  it('skips unknown chunks and pads odd-sized ones', () => {
    const plain = encodeWav(Float32Array.from([0.5]), 16_000);
    const list = Buffer.concat([Buffer.from('LIST', 'latin1'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc\0', 'latin1')]);
    const withList = Buffer.concat([plain.subarray(0, 36), list, plain.subarray(36)]);
    expect(decodeWav(withList).samples[0]).toBeCloseTo(0.5, 3);
  });

  it('names what is wrong', () => {
    expect(() => decodeWav(Buffer.from('hello'))).toThrow(/not a WAV file/);
    expect(() => decodeWav(wav(6, 8, 1, 8000, Buffer.alloc(4)))).toThrow(/format 6, 8 bits/);
    expect(() => decodeWav(wav(1, 16, 1, 4000, Buffer.alloc(4)))).toThrow(/4000 Hz/);
    expect(() => decodeWav(wav(1, 16, 0, 16_000, Buffer.alloc(4)))).toThrow(/0 channels/);
    expect(() => decodeWav(encodeWav(new Float32Array(1), 16_000).subarray(0, 36))).toThrow(/no "data" chunk/);
  });
});

describe('resample', () => {
  it('keeps the duration, down and up', () => {
    expect(resample(new Float32Array(44_100), 44_100, 16_000).length).toBe(16_000);
    expect(resample(new Float32Array(8000), 8000, 16_000).length).toBe(16_000);
    expect([...resample(Float32Array.from([0, 1, 2, 3]), 32_000, 16_000)]).toEqual([0.5, 2.5]);
    expect([...resample(Float32Array.from([0, 1]), 8000, 16_000)]).toEqual([0, 0.5, 1, 1]);
  });
});

describe('toSegments', () => {
  const frames = (spec: string) => [...spec].map((c) => (c === '#' ? 0.9 : c === '+' ? 0.4 : 0.05));
  it('joins short pauses, drops misfires, and ends a segment at its last voiced frame', () => {
    const probs = frames(`${'.'.repeat(10)}${'#'.repeat(20)}${'.'.repeat(5)}${'#'.repeat(10)}++${'.'.repeat(30)}###${'.'.repeat(30)}`);
    // 512 samples at 16 kHz: 32 ms a frame; the last voiced frame (a "+") is frame 46.
    expect(toSegments(probs)).toEqual([{ start: 0.32, end: 1.504 }]);
  });
});
