/**
 * The background (a colour, a two-colour vertical gradient, or an uploaded image cropped to fill) and the
 * cut-out laid over it by its matte: out = fg × α + bg × (1 − α). Outside the matte (α = 0) a frame is the
 * background exactly. With a head sway the cut-out is resampled through a small rotation and shift first.
 */
import { HttpError } from '@spindle/runtime';
import sharp from 'sharp';
import type { Pose } from './motion.ts';

/** `#rrggbb` → [r, g, b]. */
export function parseColor(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [Number.parseInt(m[1], 16), Number.parseInt(m[2], 16), Number.parseInt(m[3], 16)];
}

/** A width × height RGB buffer of one colour. */
export function solidBackground(color: string, width: number, height: number): Uint8Array {
  const [r, g, b] = parseColor(color);
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < out.length; i += 3) {
    out[i] = r;
    out[i + 1] = g;
    out[i + 2] = b;
  }
  return out;
}

/** A width × height RGB buffer going from `top` to `bottom`, row by row. */
export function gradientBackground(top: string, bottom: string, width: number, height: number): Uint8Array {
  const a = parseColor(top);
  const b = parseColor(bottom);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const t = height > 1 ? y / (height - 1) : 0;
    const row = [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * t));
    for (let x = 0; x < width; x++) out.set(row, (y * width + x) * 3);
  }
  return out;
}

/** An image cropped and scaled to fill width × height, as RGB; a 400 naming `background.image` when it is not one. */
export async function imageBackground(bytes: Buffer, width: number, height: number): Promise<Uint8Array> {
  try {
    const data = await sharp(bytes, { limitInputPixels: 25_000_000 }).rotate().toColourspace('srgb').resize(width, height, { fit: 'cover' }).removeAlpha().raw().toBuffer();
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (err) {
    throw new HttpError(400, `field "background.image" is not an image this function can decode: ${(err as Error).message}`, { code: 'SPINDLE_INVALID_IMAGE', field: 'background.image', cause: err });
  }
}

/** Lays the RGBA `layer` over the RGB `bg` into the RGB `out`, in the box (x0, y0, w, h) of a `width`-wide image. */
export function compositeRegion(layer: Uint8Array, bg: Uint8Array, out: Uint8Array, width: number, x0: number, y0: number, w: number, h: number): void {
  for (let y = y0; y < y0 + h; y++) {
    for (let x = x0; x < x0 + w; x++) {
      const p = y * width + x;
      const a = layer[p * 4 + 3];
      const o = p * 3;
      if (a === 255) {
        out[o] = layer[p * 4];
        out[o + 1] = layer[p * 4 + 1];
        out[o + 2] = layer[p * 4 + 2];
      } else if (a === 0) {
        out[o] = bg[o];
        out[o + 1] = bg[o + 1];
        out[o + 2] = bg[o + 2];
      } else {
        for (let k = 0; k < 3; k++) out[o + k] = (layer[p * 4 + k] * a + bg[o + k] * (255 - a) + 127) / 255;
      }
    }
  }
}

/**
 * Per output row, the columns [from, to) that a layer moved by at most `margin` px can reach: its opaque span
 * in the rows within `margin`, widened by `margin`. Other pixels only ever show the background.
 */
export function reachableSpans(layer: Uint8Array, width: number, height: number, margin: number): Int32Array {
  const own = new Int32Array(height * 2);
  for (let y = 0; y < height; y++) {
    let from = width;
    let to = 0;
    for (let x = 0; x < width; x++) {
      if (layer[(y * width + x) * 4 + 3] === 0) continue;
      if (x < from) from = x;
      to = x + 1;
    }
    own[y * 2] = from;
    own[y * 2 + 1] = to;
  }
  const spans = new Int32Array(height * 2);
  for (let y = 0; y < height; y++) {
    let from = width;
    let to = 0;
    for (let r = Math.max(0, y - margin); r <= Math.min(height - 1, y + margin); r++) {
      if (own[r * 2] < from) from = own[r * 2];
      if (own[r * 2 + 1] > to) to = own[r * 2 + 1];
    }
    // An empty row stays [0, 0).
    if (to > 0) {
      spans[y * 2] = Math.max(0, from - margin);
      spans[y * 2 + 1] = Math.min(width, to + margin);
    }
  }
  return spans;
}

/**
 * Lays `layer`, turned by `pose.angle` about `pivot` and shifted by (dx, dy), over `bg` into `out`: each output
 * pixel samples the layer bilinearly at its inverse-transformed position (transparent outside the layer).
 * Colours are weighted by alpha, so a transparent neighbour adds no colour; inner pixels skip the edge checks.
 * With `spans` (reachableSpans) only those columns of each row are drawn: `out` must already hold the
 * background elsewhere.
 */
export function compositeTransformed(layer: Uint8Array, bg: Uint8Array, out: Uint8Array, width: number, height: number, pose: Pose, pivot: [number, number], spans?: Int32Array): void {
  const cos = Math.cos(pose.angle);
  const sin = Math.sin(pose.angle);
  const [px, py] = pivot;
  const stride = width * 4;
  for (let y = 0; y < height; y++) {
    // Inverse: q = R(−angle) · (p − pivot − d) + pivot, stepped along the row.
    const ry = y - py - pose.dy;
    const from = spans ? spans[y * 2] : 0;
    const to = spans ? spans[y * 2 + 1] : width;
    let qx = cos * (from - px - pose.dx) + sin * ry + px;
    let qy = -sin * (from - px - pose.dx) + cos * ry + py;
    for (let x = from; x < to; x++, qx += cos, qy -= sin) {
      const o = (y * width + x) * 3;
      const x0 = Math.floor(qx);
      const y0 = Math.floor(qy);
      const fx = qx - x0;
      const fy = qy - y0;
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      if (x0 >= 0 && y0 >= 0 && x0 < width - 1 && y0 < height - 1) {
        const s = y0 * stride + x0 * 4;
        const w00 = (1 - fx) * (1 - fy) * layer[s + 3];
        const w01 = fx * (1 - fy) * layer[s + 7];
        const w10 = (1 - fx) * fy * layer[s + stride + 3];
        const w11 = fx * fy * layer[s + stride + 7];
        a = w00 + w01 + w10 + w11;
        if (a > 0) {
          r = layer[s] * w00 + layer[s + 4] * w01 + layer[s + stride] * w10 + layer[s + stride + 4] * w11;
          g = layer[s + 1] * w00 + layer[s + 5] * w01 + layer[s + stride + 1] * w10 + layer[s + stride + 5] * w11;
          b = layer[s + 2] * w00 + layer[s + 6] * w01 + layer[s + stride + 2] * w10 + layer[s + stride + 6] * w11;
        }
      } else {
        for (let j = 0; j < 4; j++) {
          const sx = x0 + (j & 1);
          const sy = y0 + (j >> 1);
          if (sx < 0 || sy < 0 || sx >= width || sy >= height) continue;
          const s = sy * stride + sx * 4;
          const wa = ((j & 1) === 1 ? fx : 1 - fx) * ((j >> 1) === 1 ? fy : 1 - fy) * layer[s + 3];
          r += layer[s] * wa;
          g += layer[s + 1] * wa;
          b += layer[s + 2] * wa;
          a += wa;
        }
      }
      if (a <= 0) {
        out[o] = bg[o];
        out[o + 1] = bg[o + 1];
        out[o + 2] = bg[o + 2];
        continue;
      }
      const k = a / 255;
      out[o] = (r / a) * k + bg[o] * (1 - k) + 0.5;
      out[o + 1] = (g / a) * k + bg[o + 1] * (1 - k) + 0.5;
      out[o + 2] = (b / a) * k + bg[o + 2] * (1 - k) + 0.5;
    }
  }
}
