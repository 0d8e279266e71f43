/** The warps on a synthetic face over a noise image: identity at rest, nothing outside the ROIs, lips moving by the rig's amounts. */
import { describe, expect, it } from 'vitest';
import { LOWER_SHARE, eyeRig, mouthRig, warpEye, warpMouth, type Point } from './warp.ts';

const W = 240;
const H = 240;

/** 68 landmarks of an upright face centred at x = 120: jaw arc, brows, nose, eyes and lips at plausible places. */
function syntheticFace(): Point[] {
  const p: Point[] = [];
  for (let i = 0; i < 17; i++) {
    const a = Math.PI * (i / 16);
    p.push([120 - 60 * Math.cos(a), 110 + 75 * Math.sin(a)]); // 0-16 jaw, chin (8) at y 185
  }
  for (let i = 0; i < 10; i++) p.push([80 + i * 9, 70]); // 17-26 brows
  for (let i = 0; i < 4; i++) p.push([120, 85 + i * 8]); // 27-30 nose bridge
  for (let i = 0; i < 5; i++) p.push([110 + i * 5, 120]); // 31-35 nose bottom (33 at y 120)
  const eye = (cx: number): Point[] => [[cx - 12, 90], [cx - 4, 86], [cx + 4, 86], [cx + 12, 90], [cx + 4, 94], [cx - 4, 94]];
  p.push(...eye(95), ...eye(145)); // 36-47
  // 48-59 outer lips: corners at x 100 / 140, y 150; upper lip top at 144, lower lip bottom at 158.
  p.push([100, 150], [107, 146], [114, 144], [120, 145], [126, 144], [133, 146], [140, 150], [133, 155], [126, 157], [120, 158], [114, 157], [107, 155]);
  // 60-67 inner lips, closed along y 150.
  p.push([103, 150], [112, 149], [120, 149], [128, 149], [137, 150], [128, 151], [120, 151], [112, 151]);
  return p;
}

function noise(seed = 7): Uint8Array {
  const img = new Uint8Array(W * H * 4);
  let s = seed;
  for (let i = 0; i < img.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    img[i] = (i & 3) === 3 ? 255 : s >>> 24;
  }
  return img;
}

const face = syntheticFace();
const size = { width: W, height: H };

/** Indices of pixels that differ between two RGBA images. */
function changed(a: Uint8Array, b: Uint8Array): number[] {
  const out: number[] = [];
  for (let p = 0; p < W * H; p++) {
    if (a[p * 4] !== b[p * 4] || a[p * 4 + 1] !== b[p * 4 + 1] || a[p * 4 + 2] !== b[p * 4 + 2] || a[p * 4 + 3] !== b[p * 4 + 3]) out.push(p);
  }
  return out;
}

const inRoi = (r: { x0: number; y0: number; w: number; h: number }, p: number) => {
  const x = p % W;
  const y = Math.floor(p / W);
  return x >= r.x0 && x < r.x0 + r.w && y >= r.y0 && y < r.y0 + r.h;
};

describe('mouth warp', () => {
  const rig = mouthRig(face, size);

  it('is the identity at zero opening and width', () => {
    const src = noise();
    const dst = new Uint8Array(src.length);
    dst.set(src);
    dst.fill(0, rig.y0 * W * 4, (rig.y0 + rig.h) * W * 4);
    warpMouth(rig, src, dst, W, H, 0, 0);
    // Every ROI pixel was rewritten, and equals its source.
    expect(changed(src, dst.map((v, i) => (inRoi(rig, i >> 2) ? v : src[i])))).toEqual([]);
  });

  it('leaves every pixel outside its region unchanged, however wide it opens', () => {
    const src = noise();
    const dst = Uint8Array.from(src);
    warpMouth(rig, src, dst, W, H, 1, 1);
    const moved = changed(src, dst);
    expect(moved.length).toBeGreaterThan(200);
    expect(moved.every((p) => inRoi(rig, p))).toBe(true);
    // The eyes and the nose bridge are outside the mouth's region.
    for (const q of [36, 39, 42, 45, 27, 28]) expect(inRoi(rig, Math.round(face[q][1]) * W + Math.round(face[q][0]))).toBe(false);
  });

  it('moves the lower lip down by the lower share of the opening, the upper lip up by the rest, and opens a dark cavity between', () => {
    const src = noise();
    const mark = (p: Point, rgb: number[]) => {
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) src.set([...rgb, 255], ((Math.round(p[1]) + dy) * W + Math.round(p[0]) + dx) * 4);
    };
    mark(face[57], [255, 0, 255]); // lower lip, middle
    mark(face[51], [0, 255, 255]); // upper lip, middle
    const dst = Uint8Array.from(src);
    warpMouth(rig, src, dst, W, H, 1, 0);
    const centroid = (rgb: number[]): Point => {
      let x = 0;
      let y = 0;
      let n = 0;
      for (let p = 0; p < W * H; p++) {
        if (dst[p * 4] === rgb[0] && dst[p * 4 + 1] === rgb[1] && dst[p * 4 + 2] === rgb[2]) {
          x += p % W;
          y += Math.floor(p / W);
          n++;
        }
      }
      return [x / n, y / n];
    };
    const lower = centroid([255, 0, 255]);
    const upper = centroid([0, 255, 255]);
    expect(rig.maxOpen).toBeGreaterThan(8);
    expect(lower[0]).toBeCloseTo(face[57][0], 0);
    expect(lower[1] - face[57][1]).toBeCloseTo(rig.maxOpen * LOWER_SHARE, 0);
    expect(face[51][1] - upper[1]).toBeGreaterThan(rig.maxOpen * (1 - LOWER_SHARE) * 0.6);
    expect(face[51][1] - upper[1]).toBeLessThan(rig.maxOpen * (1 - LOWER_SHARE) + 0.7);
    // The lips' seam (y 150 at x 120) is now inside the mouth: dark.
    const seam = (150 * W + 120) * 4;
    expect(dst[seam] + dst[seam + 1] + dst[seam + 2]).toBeLessThan(120);
    // The corners stay put: the gap closes there.
    for (const q of [48, 54]) {
      const i = (Math.round(face[q][1]) * W + Math.round(face[q][0])) * 4;
      expect(Math.abs(dst[i] - src[i]) + Math.abs(dst[i + 1] - src[i + 1])).toBeLessThan(80);
    }
  });

  it('stretches the mouth sideways for a spread viseme and narrows it for a rounded one', () => {
    const src = noise();
    const corner = face[54];
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) src.set([255, 0, 255, 255], ((Math.round(corner[1]) + dy) * W + Math.round(corner[0]) + dx) * 4);
    // The marker's centre column after the warp (bilinear sampling keeps its middle exact).
    const find = (img: Uint8Array) => {
      const xs: number[] = [];
      for (let p = 0; p < W * H; p++) if (img[p * 4] === 255 && img[p * 4 + 1] === 0 && img[p * 4 + 2] === 255) xs.push(p % W);
      return xs.reduce((a, x) => a + x, 0) / xs.length;
    };
    expect(find(src)).toBe(corner[0]);
    const wide = Uint8Array.from(src);
    warpMouth(rig, src, wide, W, H, 0, 1);
    const narrow = Uint8Array.from(src);
    warpMouth(rig, src, narrow, W, H, 0, -1);
    expect(find(wide)).toBeGreaterThan(corner[0]);
    expect(find(narrow)).toBeLessThan(corner[0]);
  });
});

describe('eye warp', () => {
  const rig = eyeRig(face.slice(36, 42), size);

  it('is the identity when open, covers the eye when shut, and changes nothing outside its region', () => {
    const src = noise(3);
    const open = Uint8Array.from(src);
    warpEye(rig, src, open, W, H, 0);
    expect(changed(src, open)).toEqual([]);
    const shut = Uint8Array.from(src);
    warpEye(rig, src, shut, W, H, 1);
    const moved = changed(src, shut);
    expect(moved.every((p) => inRoi(rig, p))).toBe(true);
    // The eye's centre row now shows lid skin, not the eye.
    expect(moved).toContain(90 * W + 95);
    // Below the eye nothing moves.
    expect(moved.some((p) => Math.floor(p / W) > 96)).toBe(false);
  });
});
