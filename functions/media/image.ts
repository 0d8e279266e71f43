/** Image decoding shared by the portrait functions: upright, sRGB, bounded in size; a 400 naming the input field otherwise. */
import { HttpError } from '@spindle/runtime';
import sharp from 'sharp';

/** Larger images are refused rather than decoded into gigabytes (sharp stops at this many pixels). */
export const MAX_PIXELS = 25_000_000;

/** Raw interleaved pixels, row by row. */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
  /** Decoded size over the source's (1 unless `maxSide` shrank it): source coordinates = these / scale. */
  scale: number;
}

/**
 * Decodes PNG/JPEG/WebP/GIF/TIFF/AVIF bytes to raw RGB (or RGBA with `alpha`), EXIF orientation applied;
 * with `maxSide`, shrunk to fit a square of that side.
 * @example const { data, width, height } = await decodeImage(bytes, 'image');
 */
export async function decodeImage(bytes: Buffer, field: string, opts: { alpha?: boolean; maxPixels?: number; maxSide?: number } = {}): Promise<RawImage> {
  const maxPixels = opts.maxPixels ?? MAX_PIXELS;
  try {
    let pipeline = sharp(bytes, { limitInputPixels: maxPixels }).rotate().toColourspace('srgb');
    if (opts.maxSide) pipeline = pipeline.resize(opts.maxSide, opts.maxSide, { fit: 'inside', withoutEnlargement: true });
    const { data, info } = await (opts.alpha ? pipeline.ensureAlpha() : pipeline.removeAlpha()).raw().toBuffer({ resolveWithObject: true });
    let scale = 1;
    if (opts.maxSide) {
      // rotate() may swap the sides: the larger of each pair is the same edge.
      const meta = await sharp(bytes, { limitInputPixels: maxPixels }).metadata();
      scale = Math.max(info.width, info.height) / Math.max(meta.width ?? info.width, meta.height ?? info.height);
    }
    return { data, width: info.width, height: info.height, channels: info.channels as 3 | 4, scale };
  } catch (err) {
    const why = (err as Error).message;
    const message = `field "${field}" is not an image this function can decode (PNG, JPEG, WebP, GIF, TIFF or AVIF up to ${maxPixels / 1e6} megapixels): ${why}`;
    throw new HttpError(400, message, { code: 'SPINDLE_INVALID_IMAGE', field, cause: err });
  }
}

/** Raw pixels → PNG bytes. */
export function encodePng(image: Omit<RawImage, 'scale'>): Promise<Buffer> {
  const { width, height, channels } = image;
  return sharp(image.data, { raw: { width, height, channels } }).png().toBuffer();
}
