/**
 * TensorFlow.js on its WASM backend, set up once per process. tfjs-node is off limits (it downloads libtensorflow
 * at install); the WASM backend runs the same models on the CPU with SIMD and loads its `.wasm` from its own
 * package folder (the package stays installed: see spindle.external in the functions' package.json).
 * Both load on the first call, not at the replica's start: an idle replica stays small.
 */
type Tf = typeof import('@tensorflow/tfjs');

let ready: Promise<Tf> | undefined;

/** The tfjs module once the WASM backend is active. */
export function wasmTf(): Promise<Tf> {
  ready ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs WASM backend could not start');
    await tf.ready();
    return tf;
  })();
  return ready;
}
