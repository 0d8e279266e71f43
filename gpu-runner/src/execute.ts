/** Runs one batch through a GPU function's `handle`: decode, validate, isolate failures, encode. */
import { Ajv, type ValidateFunction } from 'ajv';
import { artifactClient, type AnyGpuFunctionDefinition, type ArtifactsEndpoint, type GpuContext, type GpuSession } from '@spindle/runtime';
import { asAnswerable, errorAnswer, HandlerError, InvalidJobInputError, ModelRejectedInputError } from './errors.ts';
import type { WorkItem, WorkResult } from './messages.ts';

type Ort = import('onnxruntime-node').InferenceSession;

/** A loaded version of a function inside a worker. */
export interface LoadedFunction {
  name: string;
  def: AnyGpuFunctionDefinition;
  /** Model name → digest. */
  models: Record<string, string>;
  validate: ValidateFunction | null;
}

const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: true });

/** Compiles the input schema, if the input is JSON. */
export function inputValidator(def: AnyGpuFunctionDefinition): ValidateFunction | null {
  return typeof def.input === 'string' ? null : ajv.compile(def.input as object);
}

const errorResult = (err: unknown): WorkResult => errorAnswer(asAnswerable(err));

/** Wraps a session: times each run, and turns onnxruntime's errors (wrong shape or type) into 400s. */
function wrap(session: Ort, model: string, timings: Array<[string, number]>): GpuSession {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run: (async (...args: Parameters<Ort['run']>) => {
      const started = performance.now();
      try {
        return await session.run(...args);
      } catch (err) {
        throw new ModelRejectedInputError(model, err);
      } finally {
        timings.push([model, (performance.now() - started) / 1000]);
      }
    }) as GpuSession['run'],
  };
}

function decode(fn: LoadedFunction, item: WorkItem): unknown {
  const body = Buffer.from(item.body.buffer, item.body.byteOffset, item.body.byteLength);
  if (!fn.validate) return { body, contentType: item.contentType };
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new InvalidJobInputError(`request body is not valid JSON: ${(err as Error).message}`, err);
  }
  if (!fn.validate(value)) {
    const e = fn.validate.errors![0];
    const field = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || (e.params as { missingProperty?: string }).missingProperty || '';
    throw new InvalidJobInputError(field ? `field "${field}" ${e.message}` : `body ${e.message}`);
  }
  return value;
}

function encode(fn: LoadedFunction, value: unknown): WorkResult {
  if (value instanceof Error) return errorResult(value);
  // A media function answering a JSON request (e.g. matte given an artifact key) may answer JSON: a plain object.
  const json = value !== null && typeof value === 'object' && !(value instanceof Uint8Array) && !ArrayBuffer.isView(value);
  if (typeof fn.def.output === 'string' && !json) {
    if (!(value instanceof Uint8Array)) return errorResult(new HandlerError(`handle must return bytes (output is "${fn.def.output}")`));
    const contentType = fn.def.output.includes('*') ? 'application/octet-stream' : fn.def.output;
    return { status: 200, contentType, body: value };
  }
  return { status: 200, contentType: 'application/json; charset=utf-8', body: Buffer.from(JSON.stringify(value ?? null)) };
}

/** Where `ctx.progress()` goes: the indices (into `items`) of the calls it is about. */
export type ProgressSink = (items: number[], fraction: number, message: string | null) => void;

/** Runs `items` through `fn`; a failing item fails only itself (a batch that throws is retried item by item). */
export async function execute(
  fn: LoadedFunction,
  items: WorkItem[],
  sessions: Map<string, Ort>,
  ep: 'cuda' | 'cpu',
  logger: GpuContext['logger'],
  onProgress: ProgressSink = () => {},
  artifactsAt: ArtifactsEndpoint | null = null,
): Promise<{ results: WorkResult[]; timings: Array<[string, number]> }> {
  const timings: Array<[string, number]> = [];
  const results: WorkResult[] = new Array(items.length);
  const good: Array<{ index: number; input: unknown }> = [];
  items.forEach((item, index) => {
    try {
      good.push({ index, input: decode(fn, item) });
    } catch (err) {
      results[index] = errorResult(err);
    }
  });
  const artifacts = artifactClient(artifactsAt?.url, artifactsAt?.token, 'no gateway has published its artifact endpoint to this runner yet');
  const ctxFor = (indices: number[]): GpuContext => ({
    name: fn.name,
    callIds: indices.map((i) => items[i].id),
    ep,
    logger,
    session(model: string) {
      const digest = fn.models[model];
      const s = digest ? sessions.get(digest) : undefined;
      if (!s) throw new HandlerError(`model "${model}" is not declared in models (declared: ${Object.keys(fn.models).join(', ')})`);
      return wrap(s, model, timings);
    },
    artifacts,
    progress(fraction, message) {
      onProgress(indices, Math.max(0, Math.min(1, Number(fraction) || 0)), message ?? null);
    },
  });
  const runGroup = async (group: typeof good): Promise<void> => {
    const ctx = ctxFor(group.map((g) => g.index));
    try {
      if (!fn.def.batch) {
        results[group[0].index] = encode(fn, await fn.def.handle(group[0].input, ctx));
        return;
      }
      const out = await fn.def.handle(group.map((g) => g.input), ctx);
      if (!Array.isArray(out) || out.length !== group.length) throw new HandlerError(`a batched handle must return one result per input (got ${Array.isArray(out) ? out.length : typeof out} for ${group.length})`);
      for (const [i, g] of group.entries()) results[g.index] = encode(fn, out[i]);
    } catch (err) {
      if (group.length === 1) results[group[0].index] = errorResult(err);
      else for (const g of group) await runGroup([g]);
    }
  };
  if (good.length) {
    if (fn.def.batch) await runGroup(good);
    else for (const g of good) await runGroup([g]);
  }
  return { results, timings };
}
