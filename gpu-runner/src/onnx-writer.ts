/**
 * Writes small ONNX models without any dependency (a minimal protobuf encoder): the project generates
 * its batchable test/bench model at build time instead of committing a binary.
 */

function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

type Field = [number, 'varint', number | bigint] | [number, 'bytes', Uint8Array | string | Field[]];

function encode(fields: Field[]): Uint8Array {
  const parts: number[] = [];
  const chunks: Uint8Array[] = [];
  const flush = () => {
    if (parts.length) chunks.push(Uint8Array.from(parts.splice(0)));
  };
  for (const [no, kind, value] of fields) {
    if (kind === 'varint') {
      parts.push(...varint((no << 3) | 0), ...varint(value));
      continue;
    }
    const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value instanceof Uint8Array ? value : encode(value);
    parts.push(...varint((no << 3) | 2), ...varint(bytes.length));
    flush();
    chunks.push(bytes);
  }
  flush();
  return Buffer.concat(chunks);
}

const FLOAT = 1;

/** A float32 tensor input or output with `dims` (strings are symbolic, e.g. the batch dimension). */
function valueInfo(name: string, dims: Array<number | string>): Field[] {
  const shape: Field[] = dims.map((d) => [1, 'bytes', typeof d === 'number' ? [[1, 'varint', d]] : [[2, 'bytes', d]]] as Field);
  return [
    [1, 'bytes', name],
    [2, 'bytes', [[1, 'bytes', [[1, 'varint', FLOAT], [2, 'bytes', shape]]]]],
  ];
}

function initializer(name: string, dims: number[], data: Float32Array): Field[] {
  return [...dims.map((d) => [1, 'varint', d] as Field), [2, 'varint', FLOAT], [8, 'bytes', name], [9, 'bytes', new Uint8Array(data.buffer, data.byteOffset, data.byteLength)]];
}

function node(op: string, inputs: string[], outputs: string[]): Field[] {
  return [...inputs.map((i) => [1, 'bytes', i] as Field), ...outputs.map((o) => [2, 'bytes', o] as Field), [3, 'bytes', outputs[0]], [4, 'bytes', op]];
}

/** Deterministic pseudo-random weights, so every build yields the same model bytes (and digest). */
function weights(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 0xffffffff) * 2 - 1) * scale;
  }
  return out;
}

/**
 * An MLP `y = relu(x·W1 + b1)·W2 + b2`, input `x` float32 [batch, dim], output `y` float32 [batch, dim].
 * Batchable: the first dimension is symbolic. `layers` > 1 adds hidden×hidden layers (`relu(h·Wk + bk)`)
 * between the two: a model whose inference dominates, for benchmarks; with `shared` they all use one
 * weight matrix (the compute grows with `layers`, the file does not).
 * @example await writeFile('mlp.onnx', mlpModel({ dim: 64, hidden: 256 }));
 */
export function mlpModel(opts: { dim: number; hidden: number; layers?: number; shared?: boolean; seed?: number }): Uint8Array {
  const { dim, hidden } = opts;
  const seed = opts.seed ?? 7;
  const deep: Field[] = [];
  const deepWeights: Field[] = [];
  let h = 'h2';
  for (let k = 1; k < (opts.layers ?? 1); k++) {
    const w = opts.shared ? 1 : k;
    deep.push([1, 'bytes', node('MatMul', [h, `Wh${w}`], [`m${k}`])], [1, 'bytes', node('Add', [`m${k}`, `bh${w}`], [`a${k}`])], [1, 'bytes', node('Relu', [`a${k}`], [`r${k}`])]);
    if (w === k) {
      deepWeights.push(
        [5, 'bytes', initializer(`Wh${k}`, [hidden, hidden], weights(hidden * hidden, seed + 10 * k, 1 / Math.sqrt(hidden)))],
        [5, 'bytes', initializer(`bh${k}`, [hidden], weights(hidden, seed + 10 * k + 1, 0.1))],
      );
    }
    h = `r${k}`;
  }
  const graph: Field[] = [
    [1, 'bytes', node('MatMul', ['x', 'W1'], ['h0'])],
    [1, 'bytes', node('Add', ['h0', 'b1'], ['h1'])],
    [1, 'bytes', node('Relu', ['h1'], ['h2'])],
    ...deep,
    [1, 'bytes', node('MatMul', [h, 'W2'], ['h3'])],
    [1, 'bytes', node('Add', ['h3', 'b2'], ['y'])],
    [2, 'bytes', 'spindle-mlp'],
    [5, 'bytes', initializer('W1', [dim, hidden], weights(dim * hidden, seed, 1 / Math.sqrt(dim)))],
    [5, 'bytes', initializer('b1', [hidden], weights(hidden, seed + 1, 0.1))],
    [5, 'bytes', initializer('W2', [hidden, dim], weights(hidden * dim, seed + 2, 1 / Math.sqrt(hidden)))],
    [5, 'bytes', initializer('b2', [dim], weights(dim, seed + 3, 0.1))],
    ...deepWeights,
    [11, 'bytes', valueInfo('x', ['batch', dim])],
    [12, 'bytes', valueInfo('y', ['batch', dim])],
  ];
  return encode([
    [1, 'varint', 8],
    [2, 'bytes', 'spindle'],
    [7, 'bytes', graph],
    [8, 'bytes', [[1, 'bytes', ''], [2, 'varint', 17]]],
  ]);
}
