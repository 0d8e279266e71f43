/** Reading an input artifact named by a field, with a 4xx naming that field when it is missing or too big. */
import { HttpError, type FunctionContext } from '@spindle/runtime';

/**
 * The bytes stored under `key`; a 400 naming `field` when nothing is, or when they pass `maxBytes`.
 * @example const photo = await readArtifact(ctx, input.image, 'image');
 */
export async function readArtifact(ctx: FunctionContext, key: string, field: string, maxBytes = 100 * 1024 * 1024): Promise<Buffer> {
  const bytes = await ctx.artifacts.get(key);
  if (!bytes) throw new HttpError(400, `field "${field}": no artifact "${key}" (upload it first: POST /artifacts)`, { code: 'SPINDLE_ARTIFACT_NOT_FOUND', field });
  if (bytes.length > maxBytes) throw new HttpError(413, `field "${field}": artifact "${key}" is ${bytes.length} bytes, more than ${maxBytes}`, { field });
  return bytes;
}
