/**
 * The face's moving parts as backward warps of an RGBA layer, each confined to a region of interest (ROI):
 * every pixel outside the ROIs is never written, so the rest of the face stays exactly still.
 *
 * Mouth: in a frame aligned with the lips (u along the mouth, v down), the lips part along their seam by a
 * lens-shaped gap (widest in the middle, closed at the corners) that becomes the dark mouth cavity: the lower
 * lip takes most of the opening, the upper lip the rest. Below the lower lip the drop blends into the chin's
 * and jaw's, which is wider (it fades out at the jawline) and fades out again under the chin; above the upper
 * lip the lift fades out towards the nose. A width change stretches or purses the lips about the centre.
 * Eyes: the upper lid's skin is stretched down over the eye (a blink), fading out at the corners.
 * Geometry (u, v, fall-offs) is computed once per portrait; a frame only evaluates a few products per pixel.
 */

export type Point = [number, number];

/** Pixels of the layer a rig may change, and each one's coordinates in the rig's frame. */
interface Roi {
  x0: number;
  y0: number;
  w: number;
  h: number;
  /** Per ROI pixel (row-major): position along the axis and across it, relative to the centre. */
  u: Float32Array;
  v: Float32Array;
  /** Centre and unit axes of the frame, in layer pixels (n points down the face). */
  cx: number;
  cy: number;
  ex: number;
  ey: number;
  nx: number;
  ny: number;
}

/** The mouth rig: its ROI plus the per-pixel fall-offs that do not depend on the opening. */
export interface MouthRig extends Roi {
  /** Half the mouth's width (corner to corner), px. */
  halfWidth: number;
  /** Largest opening (at open = 1) and the share of it taken by the lower jaw. */
  maxOpen: number;
  /** The lip seam (midline between the inner lip contours) as knots along u. */
  seamU: Float32Array;
  seamV: Float32Array;
  /** Per pixel: sideways fall-off of the jaw drop, and the lips' width mask. */
  hLow: Float32Array;
  widthMask: Float32Array;
  /** v of the chin below the centre; lengths over which the jaw drop and the lip lift fade out. */
  chinV: number;
  lowFall: number;
  upFall: number;
}

/** The blink rig of one eye. */
export interface EyeRig extends Roi {
  /** Half the eye's height, px; the lid's skin fold starts `skin` above the eye. */
  halfHeight: number;
  skin: number;
  /** Per pixel: the lid's sideways fall-off (1 over the pupil, 0 past the corners). */
  hLid: Float32Array;
}

/** Share of the opening the lower jaw takes; the upper lip takes the rest. */
export const LOWER_SHARE = 0.85;
/** Opening at open = 1, in mouth widths. */
export const OPEN_PER_WIDTH = 0.4;
/** Width change at width = ±1, as a fraction of the mouth's width. */
export const WIDTH_STRETCH = 0.22;
/** The mouth cavity's colour (dark red-brown). */
const CAVITY = [52, 20, 24] as const;

const smooth = (t: number) => (t <= 0 ? 0 : t >= 1 ? 1 : t * t * (3 - 2 * t));
/** 1 for |x| ≤ inner, easing to 0 at |x| ≥ outer. */
const plateau = (x: number, inner: number, outer: number) => 1 - smooth((Math.abs(x) - inner) / Math.max(1e-6, outer - inner));
const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);
const mean = (ps: Point[]): Point => [ps.reduce((s, p) => s + p[0], 0) / ps.length, ps.reduce((s, p) => s + p[1], 0) / ps.length];

/** An ROI covering the frame-aligned box [uMin, uMax] × [vMin, vMax], clipped to the layer. */
function makeRoi(c: Point, e: Point, size: { width: number; height: number }, uMin: number, uMax: number, vMin: number, vMax: number): Roi {
  const n: Point = [-e[1], e[0]];
  const corners = [uMin, uMax].flatMap((u) => [vMin, vMax].map((v) => [c[0] + u * e[0] + v * n[0], c[1] + u * e[1] + v * n[1]]));
  const x0 = Math.max(0, Math.floor(Math.min(...corners.map((q) => q[0]))));
  const y0 = Math.max(0, Math.floor(Math.min(...corners.map((q) => q[1]))));
  const x1 = Math.min(size.width, Math.ceil(Math.max(...corners.map((q) => q[0]))) + 1);
  const y1 = Math.min(size.height, Math.ceil(Math.max(...corners.map((q) => q[1]))) + 1);
  const w = Math.max(0, x1 - x0);
  const h = Math.max(0, y1 - y0);
  const u = new Float32Array(w * h);
  const v = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x0 + x - c[0];
      const dy = y0 + y - c[1];
      u[y * w + x] = dx * e[0] + dy * e[1];
      v[y * w + x] = dx * n[0] + dy * n[1];
    }
  }
  return { x0, y0, w, h, u, v, cx: c[0], cy: c[1], ex: e[0], ey: e[1], nx: n[0], ny: n[1] };
}

/** Unit vector from a to b; (1, 0) when they coincide. */
function axis(a: Point, b: Point): Point {
  const d = dist(a, b);
  return d > 1e-6 ? [(b[0] - a[0]) / d, (b[1] - a[1]) / d] : [1, 0];
}

/**
 * Builds the mouth rig from 68 landmarks (in layer pixels).
 * @example const rig = mouthRig(points, { width: 512, height: 512 });
 */
export function mouthRig(points: Point[], size: { width: number; height: number }): MouthRig {
  const outer = points.slice(48, 60);
  const c = mean(outer);
  const e = axis(points[48], points[54]);
  const halfWidth = Math.max(2, dist(points[48], points[54]) / 2);
  const local = (p: Point): Point => [(p[0] - c[0]) * e[0] + (p[1] - c[1]) * e[1], -(p[0] - c[0]) * e[1] + (p[1] - c[1]) * e[0]];
  // Seam knots: the inner corners, and the midpoints of facing inner-lip points (61|67, 62|66, 63|65).
  const knots = [local(points[60]), local(mean([points[61], points[67]])), local(mean([points[62], points[66]])), local(mean([points[63], points[65]])), local(points[64])].sort((a, b) => a[0] - b[0]);
  const chinV = Math.max(halfWidth * 0.8, local(points[8])[1]);
  const noseV = local(points[33])[1];
  const seamMin0 = Math.min(...knots.map((k) => k[1]));
  const seamMax0 = Math.max(...knots.map((k) => k[1]));
  // The jaw's drop is spread between the lip seam and the chin: keep it under 1/1.6 of that span (no fold-over).
  const maxOpen = Math.min(OPEN_PER_WIDTH * 2 * halfWidth, Math.max(0, (local(points[8])[1] - seamMax0) / (1.6 * LOWER_SHARE)));
  const lowMax = maxOpen * LOWER_SHARE;
  const upMax = maxOpen - lowMax;
  // Fade lengths at least twice the largest move keep the maps monotonic (no fold-over).
  const lowFall = Math.max(chinV * 0.6, 2.2 * lowMax);
  const upFall = Math.max(2.2 * upMax, Math.min(Math.abs(noseV) * 0.85, chinV));
  const jawHalf = dist(points[4], points[12]) / 2;
  const lowOuter = Math.max(halfWidth * 1.8, jawHalf * 0.95);
  const roi = makeRoi(c, e, size, -lowOuter - 2, lowOuter + 2, seamMin0 - upMax - upFall - 2, Math.max(seamMax0, chinV) + lowMax + lowFall + 2);
  const n = roi.w * roi.h;
  const hLow = new Float32Array(n);
  const widthMask = new Float32Array(n);
  const lip = halfWidth * 0.7;
  for (let i = 0; i < n; i++) {
    const u = roi.u[i];
    hLow[i] = plateau(u, halfWidth * 1.05, lowOuter);
    widthMask[i] = plateau(u, halfWidth * 1.1, halfWidth * 1.8) * plateau(roi.v[i], lip, lip * 2);
  }
  return {
    ...roi,
    halfWidth,
    maxOpen,
    seamU: Float32Array.from(knots.map((k) => k[0])),
    seamV: Float32Array.from(knots.map((k) => k[1])),
    hLow,
    widthMask,
    chinV,
    lowFall,
    upFall,
  };
}

/** The seam's v at u (linear between knots, flat past the corners). */
function seamAt(rig: MouthRig, u: number): number {
  const { seamU, seamV } = rig;
  const last = seamU.length - 1;
  if (u <= seamU[0]) return seamV[0];
  if (u >= seamU[last]) return seamV[last];
  let k = 1;
  while (seamU[k] < u) k++;
  const t = (u - seamU[k - 1]) / Math.max(1e-6, seamU[k] - seamU[k - 1]);
  return seamV[k - 1] + t * (seamV[k] - seamV[k - 1]);
}

/** Bilinear sample of RGBA `src` at (x, y), written to `dst` at byte `di`; edge pixels repeat past the border. */
function sample(src: Uint8Array, width: number, height: number, x: number, y: number, dst: Uint8Array, di: number): void {
  const xc = x < 0 ? 0 : Math.min(x, width - 1);
  const yc = y < 0 ? 0 : Math.min(y, height - 1);
  const x0 = Math.floor(xc);
  const y0 = Math.floor(yc);
  const x1 = x0 < width - 1 ? x0 + 1 : x0;
  const y1 = y0 < height - 1 ? y0 + 1 : y0;
  const fx = xc - x0;
  const fy = yc - y0;
  const a = (y0 * width + x0) * 4;
  const b = (y0 * width + x1) * 4;
  const c = (y1 * width + x0) * 4;
  const d = (y1 * width + x1) * 4;
  for (let k = 0; k < 4; k++) {
    const top = src[a + k] + (src[b + k] - src[a + k]) * fx;
    const bottom = src[c + k] + (src[d + k] - src[c + k]) * fx;
    dst[di + k] = Math.round(top + (bottom - top) * fy);
  }
}

/** The lips' gap profile along the mouth: 1 in the middle, 0 at and past the corners (half an ellipse). */
function lens(u: number, halfWidth: number): number {
  const t = u / halfWidth;
  return t * t >= 1 ? 0 : Math.sqrt(1 - t * t);
}

/** Copies one RGBA pixel. */
function copy(src: Uint8Array, dst: Uint8Array, i: number): void {
  dst[i] = src[i];
  dst[i + 1] = src[i + 1];
  dst[i + 2] = src[i + 2];
  dst[i + 3] = src[i + 3];
}

/**
 * Writes the mouth ROI of `dst` from `src` (both RGBA, `width` × `height`): opening `open` (0..1) and width
 * change `widthChange` (-1..1). At (0, 0) the ROI is copied unchanged.
 */
export function warpMouth(rig: MouthRig, src: Uint8Array, dst: Uint8Array, width: number, height: number, open: number, widthChange: number): void {
  const o = Math.max(0, Math.min(1, open));
  const jLow = o * rig.maxOpen * LOWER_SHARE;
  const jUp = o * rig.maxOpen * (1 - LOWER_SHARE);
  const stretch = Math.max(-1, Math.min(1, widthChange)) * WIDTH_STRETCH;
  const { w, h, x0, y0, cx, cy, ex, ey, nx, ny, chinV, lowFall, upFall, halfWidth } = rig;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const di = ((y0 + y) * width + x0 + x) * 4;
      const u = rig.u[i];
      const v = rig.v[i];
      // Stretching by (1 + s) about the centre: the source is nearer the centre by s / (1 + s).
      const sm = stretch * rig.widthMask[i];
      const us = u - (sm / (1 + sm)) * u;
      const seam = seamAt(rig, us);
      const p = lens(us, halfWidth);
      const lipDrop = jLow * p;
      const lipLift = jUp * p;
      const jawDrop = jLow * rig.hLow[i];
      const span = Math.max(1, chinV - seam);
      let vs: number;
      if (v >= seam + lipDrop) {
        // Solve vs + drop(vs) = v by two fixed-point steps; the drop goes from the lip's at the seam to the
        // jaw's at the chin, and fades out below the chin over lowFall.
        vs = v - lipDrop;
        for (let k = 0; k < 2; k++) {
          const along = smooth((vs - seam) / span);
          const below = vs > chinV ? smooth((vs - chinV) / lowFall) : 0;
          vs = v - (lipDrop + (jawDrop - lipDrop) * along) * (1 - below);
        }
        if (vs < seam) vs = seam;
      } else if (v <= seam - lipLift) {
        vs = v + lipLift;
        for (let k = 0; k < 2; k++) vs = v + lipLift * (1 - smooth((seam - vs) / upFall));
        if (vs > seam) vs = seam;
      } else {
        // Between the parted lips: the cavity, blended with the lip edge over the last pixel.
        const t = Math.min(1, v - (seam - lipLift), seam + lipDrop - v);
        sample(src, width, height, cx + us * ex + v * nx, cy + us * ey + v * ny, dst, di);
        for (let k = 0; k < 3; k++) dst[di + k] = Math.round(dst[di + k] * (1 - t) + CAVITY[k] * t);
        continue;
      }
      const du = us - u;
      const dv = vs - v;
      if (du * du + dv * dv < 1e-8) copy(src, dst, di);
      else sample(src, width, height, cx + us * ex + vs * nx, cy + us * ey + vs * ny, dst, di);
    }
  }
}

/**
 * Builds the blink rig of one eye from its six landmarks (corner, two upper, corner, two lower).
 * @example const left = eyeRig(points.slice(36, 42), size);
 */
export function eyeRig(eye: Point[], size: { width: number; height: number }): EyeRig {
  const c = mean(eye);
  const e = axis(eye[0], eye[3]);
  const halfWidth = Math.max(2, dist(eye[0], eye[3]) / 2);
  const halfHeight = Math.max(1.5, (dist(eye[1], eye[5]) + dist(eye[2], eye[4])) / 4);
  const skin = Math.max(3, halfHeight * 2.5);
  const roi = makeRoi(c, e, size, -halfWidth * 1.5, halfWidth * 1.5, -halfHeight - skin - 1, halfHeight * 1.5 + 2);
  const hLid = new Float32Array(roi.w * roi.h);
  for (let i = 0; i < hLid.length; i++) hLid[i] = plateau(roi.u[i], halfWidth * 0.35, halfWidth * 1.3);
  return { ...roi, halfHeight, skin, hLid };
}

/** Writes the eye ROI of `dst` from `src`: `closed` 0 (open) … 1 (shut). At 0 the ROI is copied unchanged. */
export function warpEye(rig: EyeRig, src: Uint8Array, dst: Uint8Array, width: number, height: number, closed: number): void {
  const b = Math.max(0, Math.min(1, closed));
  const { w, h, x0, y0, cx, cy, ex, ey, nx, ny, halfHeight, skin } = rig;
  const lidTop = -halfHeight;
  const top = lidTop - skin;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const di = ((y0 + y) * width + x0 + x) * 4;
      const v = rig.v[i];
      // The lid's edge comes down by up to the eye's full height (plus a little, so it shuts).
      const drop = b * (2 * halfHeight + 1) * rig.hLid[i];
      const edge = lidTop + drop;
      if (drop < 1e-4 || v < top || v > edge) {
        copy(src, dst, di);
        continue;
      }
      // [top, edge] shows the skin of [top, lidTop], stretched; the last pixel above the edge is the lash line.
      const vs = top + ((v - top) * (lidTop - top)) / (edge - top);
      const u = rig.u[i];
      sample(src, width, height, cx + u * ex + vs * nx, cy + u * ey + vs * ny, dst, di);
      if (edge - v < 1.2 && b > 0.3) for (let k = 0; k < 3; k++) dst[di + k] = Math.round(dst[di + k] * 0.6);
    }
  }
}
