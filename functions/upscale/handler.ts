/** upscale: a portrait ×2 with ESRGAN (slim) before matting and animation; images are capped in size (see MAX_PIXELS). */
import { createHash } from 'node:crypto';
import { HttpError, defineFunction } from '@spindle/runtime';
import { readArtifact } from '../media/artifact.ts';
import { decodeImage, encodePng } from '../media/image.ts';
import { upscale } from './esrgan.ts';

/** The largest input: ×2 of 512 × 512 takes about 10 s of one core here (tfjs WASM has no threads under Node). */
export const MAX_PIXELS = 512 * 512;

export default defineFunction({
  input: {
    type: 'object',
    required: ['image'],
    properties: {
      image: { type: 'string', minLength: 1, maxLength: 512, description: `artifact key of a PNG/JPEG/WebP image of at most ${MAX_PIXELS} pixels` },
      scale: { type: 'integer', enum: [2], default: 2 },
      // false: the image passes through unchanged (scale 1), so a graph can make this step optional without a
      // `when` (a skipped node would skip every node that reads its output).
      enabled: { type: 'boolean', default: true },
    },
    additionalProperties: false,
  },
  output: {
    type: 'object',
    required: ['image', 'width', 'height', 'scale'],
    properties: { image: { type: 'string' }, width: { type: 'integer' }, height: { type: 'integer' }, scale: { type: 'integer' } },
  },
  handle: async ({ image, enabled }, ctx) => {
    const decoded = await decodeImage(await readArtifact(ctx, image, 'image'), 'image');
    const { width, height } = decoded;
    if (enabled === false) return { image, width, height, scale: 1 };
    if (width * height > MAX_PIXELS) {
      throw new HttpError(413, `field "image" is ${width}×${height}; upscale takes at most ${MAX_PIXELS} pixels (512×512): shrink it or skip upscaling`, {
        code: 'SPINDLE_IMAGE_TOO_LARGE',
        field: 'image',
      });
    }
    ctx.progress(0.05, `decoded ${width}×${height}`);
    const big = await upscale(decoded.data, width, height, (done, total) => ctx.progress(0.05 + 0.9 * (done / total), `tile ${done} of ${total}`));
    const png = await encodePng({ data: Buffer.from(big.buffer, big.byteOffset, big.byteLength), width: width * 2, height: height * 2, channels: 3 });
    // Named by its content: a caller choosing its X-Call-Id cannot overwrite another's image.
    const stored = await ctx.artifacts.put(`upscale/${createHash('sha256').update(png).digest('hex')}.png`, png, 'image/png');
    return { image: stored.key, width: width * 2, height: height * 2, scale: 2 };
  },
});
