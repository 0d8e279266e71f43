/** GPU functions: what an author writes for the GPU runner (`defineGpuFunction`). */
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import type { InferenceSession } from 'onnxruntime-common';
import type { Logger } from 'pino';
import type { Artifacts } from './types.ts';

/** Dynamic batching: up to `maxSize` calls gathered within `maxDelayMs` reach one `handle` call. */
export interface GpuBatch {
  maxSize: number;
  maxDelayMs: number;
}

/** The input of a function whose `input` is a content type (`'audio/wav'`, `'image/*'`): the raw body. */
export interface GpuBytes {
  body: Buffer;
  contentType: string;
}

/** A loaded model: onnxruntime's session (errors from `run` become 400s: the input did not fit the model). */
export type GpuSession = Pick<InferenceSession, 'run' | 'inputNames' | 'outputNames'>;

/** What `handle` receives besides its input. */
export interface GpuContext {
  /** The function's name. */
  name: string;
  /** Call ids of the inputs, in order (one for an unbatched function). */
  callIds: string[];
  /** Execution provider the runner uses: 'cuda' or 'cpu'. */
  ep: 'cuda' | 'cpu';
  logger: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  /** The loaded session of one of the function's `models`. */
  session(model: string): GpuSession;
  /**
   * Reports progress, `fraction` in [0, 1], for every call of this batch (each `callIds` entry): it
   * reaches the caller's gateway on its reply stream and, for a graph node, the run's events.
   */
  progress(fraction: number, message?: string): void;
  /** Artifacts in the object store, through the gateway (as a control function's `ctx.artifacts`): media travel as keys. */
  artifacts: Artifacts;
}

type In<I> = I extends string ? GpuBytes : I extends JSONSchema ? (I extends boolean ? unknown : FromSchema<I>) : never;
/** A media output (a content type) is bytes, or a JSON object when the handler answers a JSON request (an artifact key in, a key out). */
type Out<O> = O extends string ? Uint8Array | { [key: string]: unknown } : O extends JSONSchema ? (O extends boolean ? unknown : FromSchema<O>) : never;
/** One item's result: its value, or an Error that fails only that item. */
type ItemResult<O> = Out<O> | Error;

/** A GPU function: models loaded once in the runner, inputs batched when `batch` is set. */
export interface GpuFunctionDefinition<I = JSONSchema | string, O = JSONSchema | string, B extends GpuBatch | undefined = GpuBatch | undefined> {
  kind: 'gpu';
  /** JSON Schema of the body (parsed and validated, 400 naming the field), or a content type: the raw bytes. */
  input: I;
  /** JSON Schema of the result, or the content type of the bytes `handle` returns. */
  output: O;
  /** Model name → model reference: `import m from './model.onnx'` (the CLI uploads the file and puts its digest here). */
  models: Record<string, string>;
  batch?: B;
  /** Runs once after the sessions are created, before the version takes traffic (e.g. one dummy inference). */
  warmup?(ctx: GpuContext): Promise<void> | void;
  handle(
    input: B extends GpuBatch ? In<I>[] : In<I>,
    ctx: GpuContext,
  ): B extends GpuBatch ? Promise<ItemResult<O>[]> | ItemResult<O>[] : Promise<Out<O>> | Out<O>;
}

/** Any GPU function definition, as the runner sees it. */
export type AnyGpuFunctionDefinition = {
  kind: 'gpu';
  input: JSONSchema | string;
  output: JSONSchema | string;
  models: Record<string, string>;
  batch?: GpuBatch;
  warmup?(ctx: GpuContext): unknown;
  handle(input: unknown, ctx: GpuContext): unknown;
};

/**
 * Declares a GPU function, served by the GPU runner with its models kept loaded.
 *
 * @example
 * import affine from './affine.onnx';
 * export default defineGpuFunction({
 *   input: { type: 'object', required: ['x'], properties: { x: { type: 'array', items: { type: 'number' } } } },
 *   output: { type: 'object' },
 *   models: { affine },
 *   batch: { maxSize: 32, maxDelayMs: 2 },
 *   handle: async (inputs, ctx) => inputs.map(() => ({})),
 * });
 */
export function defineGpuFunction<
  const I extends JSONSchema | string,
  const O extends JSONSchema | string,
  const B extends GpuBatch | undefined = undefined,
>(definition: Omit<GpuFunctionDefinition<I, O, B>, 'kind'>): GpuFunctionDefinition<I, O, B> {
  return { ...definition, kind: 'gpu' } as GpuFunctionDefinition<I, O, B>;
}
