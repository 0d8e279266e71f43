/**
 * The still parts of a talking portrait, made once: the cut-out (the portrait's colours, the matte's alpha)
 * fitted into a square of the output size, the landmarks moved with it, and the rigs and tracks; then the
 * frames, one at a time into a reused buffer handed to `onFrame` (which may wait: the encoder's back-pressure).
 */
import sharp from 'sharp';
import type { RawImage } from '../media/image.ts';
import { compositeRegion, compositeTransformed, reachableSpans } from './composite.ts';
import { sway, swayReach, type Pose } from './motion.ts';
import { eyeRig, mouthRig, warpEye, warpMouth, type EyeRig, type MouthRig, type Point } from './warp.ts';

/** A box in output pixels. */
export type Box = {
  x: number;
  y: number;
  width: number;
  height: number;
};

export interface Scene {
  size: number;
  /** The fitted cut-out, RGBA, size × size; transparent where the portrait does not reach. */
  base: Uint8Array;
  /** Landmarks in output pixels. */
  points: Point[];
  mouth: MouthRig;
  eyes: [EyeRig, EyeRig];
  /** Where the head turns about for the sway: below the chin, at the neck. */
  pivot: [number, number];
}

/**
 * Fits the portrait (RGB) with the cutout's alpha into size × size (scaled to the longer side, centred) and
 * rigs the face from `points` (in portrait pixels).
 */
export async function buildScene(portrait: RawImage, cutout: RawImage, points: Point[], size: number): Promise<Scene> {
  const { width, height } = portrait;
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0, n = width * height; i < n; i++) {
    rgba[i * 4] = portrait.data[i * 3];
    rgba[i * 4 + 1] = portrait.data[i * 3 + 1];
    rgba[i * 4 + 2] = portrait.data[i * 3 + 2];
    rgba[i * 4 + 3] = cutout.data[i * 4 + 3];
  }
  const scale = size / Math.max(width, height);
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const left = Math.floor((size - w) / 2);
  const top = Math.floor((size - h) / 2);
  const fitted = await sharp(rgba, { raw: { width, height, channels: 4 } })
    .resize(w, h, { fit: 'fill' })
    .extend({ left, top, right: size - w - left, bottom: size - h - top, background: { r: 0, g: 0, b: 0, alpha: 0 } })
    .raw()
    .toBuffer();
  const base = new Uint8Array(fitted.buffer, fitted.byteOffset, fitted.byteLength);
  // Pixel centres: a point at x in the source is at (x + 0.5) × scale − 0.5 in the resized image.
  const moved = points.map(([x, y]): Point => [(x + 0.5) * scale - 0.5 + left, (y + 0.5) * scale - 0.5 + top]);
  const dims = { width: size, height: size };
  const faceHeight = Math.abs(moved[8][1] - (moved[19][1] + moved[24][1]) / 2);
  return {
    size,
    base,
    points: moved,
    mouth: mouthRig(moved, dims),
    eyes: [eyeRig(moved.slice(36, 42), dims), eyeRig(moved.slice(42, 48), dims)],
    pivot: [moved[8][0], moved[8][1] + faceHeight * 0.4],
  };
}

/** The box of a rig's region of interest. */
export function roiBox(r: { x0: number; y0: number; w: number; h: number }): Box {
  return { x: r.x0, y: r.y0, width: r.w, height: r.h };
}

/** Per-frame controls. */
export interface Tracks {
  open: Float32Array;
  width: Float32Array;
  blink: Float32Array;
  /** Sway amount (0 = a still head). */
  sway: number;
  fps: number;
}

/**
 * Renders every frame over `bg` (RGB, size × size) and hands each to `onFrame` as RGB; the buffer is reused,
 * so `onFrame` must copy what it keeps. Without sway only the rigs' regions are recomposited per frame.
 */
export async function renderFrames(scene: Scene, bg: Uint8Array, tracks: Tracks, onFrame: (rgb: Uint8Array, index: number) => Promise<void> | void): Promise<void> {
  const { size, base, mouth, eyes } = scene;
  const layer = Uint8Array.from(base);
  const out = new Uint8Array(size * size * 3);
  compositeRegion(layer, bg, out, size, 0, 0, size, size);
  const frames = tracks.open.length;
  const still: Pose = { angle: 0, dx: 0, dy: 0 };
  // Rows' columns the swaying cut-out can reach (its turn at the corner farthest from the pivot, plus its shift).
  const far = Math.max(...[0, size].flatMap((x) => [0, size].map((y) => Math.hypot(x - scene.pivot[0], y - scene.pivot[1]))));
  const spans = tracks.sway > 0 ? reachableSpans(base, size, size, Math.ceil(swayReach(tracks.sway, far)) + 2) : undefined;
  for (let f = 0; f < frames; f++) {
    warpMouth(mouth, base, layer, size, size, tracks.open[f], tracks.width[f]);
    for (const eye of eyes) warpEye(eye, base, layer, size, size, tracks.blink[f]);
    const pose = tracks.sway > 0 ? sway(f / tracks.fps, tracks.sway) : still;
    if (tracks.sway > 0) compositeTransformed(layer, bg, out, size, size, pose, scene.pivot, spans);
    else for (const r of [mouth, ...eyes]) compositeRegion(layer, bg, out, size, r.x0, r.y0, r.w, r.h);
    await onFrame(out, f);
  }
}
