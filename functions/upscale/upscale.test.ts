/** ESRGAN ×2 on the real test portrait, shrunk: twice the size, the same picture, sharper than a plain resize; tiles leave no seams. */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FACE_PHOTO, needPhotos } from '../../tests/faces.ts';
import { upscale } from './esrgan.ts';

/** Mean absolute difference per channel value. */
function mad(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

describe('upscale', () => {
  it('doubles a 160 px crop of the portrait into a picture closer to the original than a bicubic resize', async () => {
    needPhotos();
    // The face at full size (the reference), and the same crop at half size (the input).
    const crop = { left: 140, top: 40, width: 320, height: 320 };
    const original = new Uint8Array(await sharp(await readFile(FACE_PHOTO)).extract(crop).removeAlpha().raw().toBuffer());
    const small = new Uint8Array(await sharp(Buffer.from(original), { raw: { width: 320, height: 320, channels: 3 } }).resize(160, 160, { kernel: 'cubic' }).raw().toBuffer());
    const tiles: number[] = [];
    const big = await upscale(small, 160, 160, (done, total) => tiles.push(done / total));
    expect(big.length).toBe(320 * 320 * 3);
    expect(tiles.at(-1)).toBe(1);
    expect(tiles.length).toBe(4);
    const bicubic = new Uint8Array(await sharp(Buffer.from(small), { raw: { width: 160, height: 160, channels: 3 } }).resize(320, 320, { kernel: 'cubic' }).raw().toBuffer());
    const esrgan = mad(big, original);
    // The same picture (a few levels off on average), and nearer the original than bicubic.
    expect(esrgan).toBeLessThan(12);
    expect(esrgan).toBeLessThan(mad(bicubic, original));
    // No seam at the tile border (input column 128 = output column 256): the jump there is like its neighbours'.
    const colJump = (x: number) => {
      let s = 0;
      for (let y = 0; y < 320; y++) for (let k = 0; k < 3; k++) s += Math.abs(big[(y * 320 + x) * 3 + k] - big[(y * 320 + x - 1) * 3 + k]);
      return s / (320 * 3);
    };
    const around = (colJump(250) + colJump(252) + colJump(260) + colJump(262)) / 4;
    expect(colJump(256)).toBeLessThan(around * 1.6 + 2);
  }, 120_000);
});
