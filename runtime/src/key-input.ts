/**
 * A raw-body GPU function that also takes JSON `{ "<field>": "<artifact key>" }`: the bytes come from the object
 * store instead of the body, so graph nodes pass media as keys. One rule for every such function (vad, matte).
 */
import { HttpError } from './errors.ts';
import type { GpuBytes } from './gpu.ts';
import type { Artifacts } from './types.ts';

/** True when the body is JSON (a key to read) rather than the media itself. */
export function isJsonBody(input: GpuBytes): boolean {
  return /^application\/(.+\+)?json\b/i.test(input.contentType);
}

/**
 * The artifact key a JSON body names at `field`: 400 naming the field when the body is not such an object.
 * @example const key = keyFromJson(input, 'audio'); // {"audio":"speech/ab12.wav"} → 'speech/ab12.wav'
 */
export function keyFromJson(input: GpuBytes, field: string): string {
  let value: unknown;
  try {
    value = JSON.parse(input.body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `request body is not valid JSON: ${(err as Error).message}`, { code: 'SPINDLE_INVALID_INPUT', field, cause: err });
  }
  const key = (value as Record<string, unknown> | null)?.[field];
  if (typeof key !== 'string' || key.length === 0) throw new HttpError(400, `field "${field}" must be an artifact key (a string), or send the media itself as the body`, { code: 'SPINDLE_INVALID_INPUT', field });
  return key;
}

/** The bytes behind `key`: 404 naming the field when no artifact has that key. */
export async function readArtifact(artifacts: Artifacts, key: string, field: string): Promise<Buffer> {
  const bytes = await artifacts.get(key);
  if (!bytes) throw new HttpError(404, `field "${field}": artifact "${key}" does not exist`, { code: 'SPINDLE_ARTIFACT_NOT_FOUND', field });
  return bytes;
}
