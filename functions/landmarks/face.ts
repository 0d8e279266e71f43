/**
 * One face's box and 68 landmarks (iBUG 300-W layout: jaw 0-16, eyes 36-47, lips 48-67) with face-api's SSD
 * MobileNet v1 detector and 68-point net on tfjs WASM. The weights ship in @vladmandic/face-api's `model/`
 * folder and are read from disk once per process.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { RawImage } from '../media/image.ts';
import { wasmTf } from '../media/tfjs.ts';

type Point = [number, number];

/** What `landmarks` answers, in the source image's pixel coordinates. */
export type FaceLandmarks = {
  width: number;
  height: number;
  score: number;
  box: { x: number; y: number; width: number; height: number };
  points: Point[];
  jaw: Point[];
  mouth: { outer: Point[]; inner: Point[]; center: Point; width: number };
  eyes: { left: Point[]; right: Point[] };
};

/** Detections below this SSD score are not taken for a face. */
const MIN_SCORE = 0.5;
const MODEL_DIR = path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'model');

type FaceApi = typeof import('@vladmandic/face-api/dist/face-api.node-wasm.js');

let loaded: Promise<FaceApi> | undefined;

/** Starts the backend and loads face-api and both nets (about 6 MB), once, on the first call. */
export function loadModels(): Promise<FaceApi> {
  loaded ??= (async () => {
    await wasmTf();
    const faceapi = await import('@vladmandic/face-api/dist/face-api.node-wasm.js');
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(MODEL_DIR);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(MODEL_DIR);
    return faceapi;
  })();
  return loaded;
}

const round = (v: number) => Math.round(v * 10) / 10;

/**
 * Shapes 68 points (in decoded-image pixels) into the answer; `scale` maps them back to the source image.
 * @example shape(points, box, 0.98, { width: 512, height: 512, scale: 1 })
 */
export function shape(points: Point[], box: FaceLandmarks['box'], score: number, image: { width: number; height: number; scale: number }): FaceLandmarks {
  if (points.length !== 68) throw new Error(`expected 68 landmarks, got ${points.length}`);
  const s = image.scale;
  const p = points.map(([x, y]): Point => [round(x / s), round(y / s)]);
  const outer = p.slice(48, 60);
  const center: Point = [round(outer.reduce((a, q) => a + q[0], 0) / 12), round(outer.reduce((a, q) => a + q[1], 0) / 12)];
  return {
    width: Math.round(image.width / s),
    height: Math.round(image.height / s),
    score: Math.round(score * 1000) / 1000,
    box: { x: round(box.x / s), y: round(box.y / s), width: round(box.width / s), height: round(box.height / s) },
    points: p,
    jaw: p.slice(0, 17),
    mouth: { outer, inner: p.slice(60, 68), center, width: round(Math.hypot(p[54][0] - p[48][0], p[54][1] - p[48][1])) },
    eyes: { left: p.slice(36, 42), right: p.slice(42, 48) },
  };
}

/** The most confident face in an RGB image, or null when there is none. */
export async function detectFace(image: RawImage): Promise<FaceLandmarks | null> {
  const faceapi = await loadModels();
  const tf = await wasmTf();
  const input = tf.tensor3d(new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength), [image.height, image.width, image.channels], 'int32');
  try {
    const found = await faceapi.detectSingleFace(input as never, new faceapi.SsdMobilenetv1Options({ minConfidence: MIN_SCORE })).withFaceLandmarks();
    if (!found) return null;
    const { box, score } = found.detection;
    const points = found.landmarks.positions.map((q): Point => [q.x, q.y]);
    return shape(points, { x: box.x, y: box.y, width: box.width, height: box.height }, score, image);
  } finally {
    input.dispose();
  }
}
