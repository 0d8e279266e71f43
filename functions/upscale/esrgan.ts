/**
 * ESRGAN ×2 (the slim RDN of @upscalerjs/esrgan-slim: a Keras layers model, 0..255 in and out) on tfjs WASM.
 * The weights are read from the package folder; the package's model definition says where they are and
 * which ranges the model takes. The image goes through in overlapping 128 px tiles (the model's patch
 * size): memory stays small whatever the image, and progress can be told tile by tile.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { LayersModel, io } from '@tensorflow/tfjs';
import { wasmTf } from '../media/tfjs.ts';

const require = createRequire(import.meta.url);
const PACKAGE = '@upscalerjs/esrgan-slim';
/** Tile side in input pixels, and the context added on each side so tile seams do not show. */
const TILE = 128;
const PAD = 8;

interface ModelDefinition {
  scale: number;
  _internals: { path: string };
  inputRange: [number, number];
  outputRange: [number, number];
}

/** The package's folder: the nearest folder above its ×2 definition whose package.json names it. */
function packageDir(): string {
  let dir = path.dirname(require.resolve(`${PACKAGE}/2x`));
  while (!existsSync(path.join(dir, 'package.json')) || JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).name !== PACKAGE) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`${PACKAGE}: package folder not found`);
    dir = up;
  }
  return dir;
}

let loaded: Promise<{ model: LayersModel; scale: number }> | undefined;

/** Loads the ×2 model once per process (about 0.9 MB of weights). */
export function loadModel(): Promise<{ model: LayersModel; scale: number }> {
  loaded ??= (async () => {
    const tf = await wasmTf();
    const definition = require(`${PACKAGE}/2x`) as ModelDefinition;
    if (definition.inputRange[1] !== 255 || definition.outputRange[1] !== 255) throw new Error(`${PACKAGE}/2x: unexpected value ranges`);
    const file = path.join(packageDir(), definition._internals.path);
    const json = JSON.parse(await readFile(file, 'utf8'));
    const specs: io.WeightsManifestEntry[] = [];
    const shards: Buffer[] = [];
    for (const group of json.weightsManifest) {
      for (const p of group.paths) shards.push(await readFile(path.join(path.dirname(file), p)));
      specs.push(...group.weights);
    }
    const all = Buffer.concat(shards);
    const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
    const model = await tf.loadLayersModel({ load: async () => ({ modelTopology: json.modelTopology, weightSpecs: specs, weightData, format: json.format }) });
    return { model, scale: definition.scale };
  })();
  return loaded;
}

/**
 * Upscales RGB pixels ×2, tile by tile; `onTile(done, total)` after each.
 * @example const big = await upscale(rgb, 256, 256); // 512 × 512 × 3 bytes
 */
export async function upscale(rgb: Uint8Array, width: number, height: number, onTile?: (done: number, total: number) => void): Promise<Uint8Array> {
  const tf = await wasmTf();
  const { model, scale } = await loadModel();
  const out = new Uint8Array(width * scale * height * scale * 3);
  const cols = Math.ceil(width / TILE);
  const rows = Math.ceil(height / TILE);
  for (let ty = 0; ty < rows; ty++) {
    for (let tx = 0; tx < cols; tx++) {
      const x0 = tx * TILE;
      const y0 = ty * TILE;
      const x1 = Math.min(width, x0 + TILE);
      const y1 = Math.min(height, y0 + TILE);
      const px0 = Math.max(0, x0 - PAD);
      const py0 = Math.max(0, y0 - PAD);
      const pw = Math.min(width, x1 + PAD) - px0;
      const ph = Math.min(height, y1 + PAD) - py0;
      const tile = new Float32Array(pw * ph * 3);
      for (let y = 0; y < ph; y++) {
        for (let k = 0; k < pw * 3; k++) tile[y * pw * 3 + k] = rgb[((py0 + y) * width + px0) * 3 + k];
      }
      const result = tf.tidy(() => (model.predict(tf.tensor4d(tile, [1, ph, pw, 3])) as ReturnType<typeof tf.tensor4d>).clipByValue(0, 255).round().toInt());
      const pixels = (await result.data()) as Int32Array;
      result.dispose();
      const ow = pw * scale;
      // Keep the tile's own part, without its padding.
      for (let y = (y0 - py0) * scale; y < (y1 - py0) * scale; y++) {
        const dst = ((py0 * scale + y) * width * scale + x0 * scale) * 3;
        const src = (y * ow + (x0 - px0) * scale) * 3;
        out.set(pixels.subarray(src, src + (x1 - x0) * scale * 3), dst);
      }
      onTile?.(ty * cols + tx + 1, rows * cols);
    }
  }
  return out;
}
