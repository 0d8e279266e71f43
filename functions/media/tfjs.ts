/**
 * TensorFlow.js on its WASM backend, set up once per process. tfjs-node is off limits (it downloads libtensorflow
 * at install); the WASM backend runs the same models on the CPU with SIMD and loads its `.wasm` from its own
 * package folder (the package stays installed: see spindle.external in the functions' package.json).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

let ready: Promise<typeof tf> | undefined;

/** The tfjs module once the WASM backend is active. */
export function wasmTf(): Promise<typeof tf> {
  ready ??= (async () => {
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs WASM backend could not start');
    await tf.ready();
    return tf;
  })();
  return ready;
}
