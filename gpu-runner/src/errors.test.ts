import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyGpuFunctionDefinition, GpuContext } from '@spindle/runtime';
import { describe, expect, it } from 'vitest';
import { runnerConfigFromEnv } from './config.ts';
import {
  asAnswerable,
  DeadLetterError,
  errorAnswer,
  FunctionLoadError,
  FunctionNotLoadedError,
  HandlerError,
  MalformedJobError,
  ModelLoadError,
  RunnerConfigError,
  RunnerError,
  WorkerFailedError,
} from './errors.ts';
import { execute, inputValidator, type LoadedFunction } from './execute.ts';
import { ModelCache } from './model-cache.ts';

const logger = { info() {}, warn() {}, error() {}, debug() {} } as unknown as GpuContext['logger'];
const body = (r: { body: Uint8Array }) => JSON.parse(Buffer.from(r.body).toString('utf8'));
const item = (text: string, i = 0) => ({ id: `call-${i}`, contentType: 'application/json', body: Buffer.from(text) });

function fn(def: Partial<AnyGpuFunctionDefinition>): LoadedFunction {
  const full: AnyGpuFunctionDefinition = { kind: 'gpu', input: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] }, output: {}, models: {}, handle: () => null, ...def };
  return { name: 'f', def: full, models: full.models, validate: inputValidator(full) };
}

describe('the runner error catalogue', () => {
  it('gives every class its status, a stable code, its name and the cause', () => {
    const cause = new Error('boom');
    const cases: Array<[RunnerError, number, string]> = [
      [new FunctionNotLoadedError('mlp'), 404, 'SPINDLE_NOT_FOUND'],
      [new FunctionLoadError('mlp', 'no such file', cause), 500, 'SPINDLE_GPU_LOAD_FAILED'],
      [new HandlerError('oops', cause), 500, 'SPINDLE_FUNCTION_ERROR'],
      [new WorkerFailedError('it exited with code 1'), 502, 'SPINDLE_GPU_WORKER_FAILED'],
      [new MalformedJobError('1-0'), 400, 'SPINDLE_GPU_MALFORMED_JOB'],
      [new DeadLetterError('j1', 'mlp', 4, 'spindle:gpu:dead'), 502, 'SPINDLE_GPU_DEAD_LETTER'],
      [new RunnerConfigError('bad'), 500, 'SPINDLE_GPU_CONFIG'],
    ];
    for (const [err, status, code] of cases) {
      expect(err).toBeInstanceOf(RunnerError);
      expect([err.statusCode, err.code, err.name]).toEqual([status, code, err.constructor.name]);
    }
    expect(new FunctionLoadError('mlp', 'x', cause).cause).toBe(cause);
    expect(new FunctionNotLoadedError('mlp').cause).toBeUndefined();
  });

  it('keeps the messages callers have always seen', () => {
    expect(new FunctionNotLoadedError('mlp').message).toBe('function "mlp" is not loaded in the GPU runner');
    expect(new FunctionNotLoadedError('mlp', 'removed').message).toBe('function "mlp" was removed');
    expect(new FunctionLoadError('mlp', 'why').message).toBe('function "mlp" failed to load in the GPU runner: why');
    expect(new HandlerError('x').message).toBe('handler failed: x');
    expect(new DeadLetterError('j1', 'mlp', 4, 'p:gpu:dead').message).toBe(
      'job j1 of function mlp was delivered 4 times without completing (the runner died while computing it each time); moved to p:gpu:dead',
    );
  });

  it('renders an answer as the gateway shape, status and code in the reply fields', () => {
    const a = errorAnswer(new FunctionNotLoadedError('mlp'));
    expect([a.status, a.code, a.contentType]).toEqual([404, 'SPINDLE_NOT_FOUND', 'application/json; charset=utf-8']);
    expect(body(a)).toEqual({ error: { code: 'SPINDLE_NOT_FOUND', message: 'function "mlp" is not loaded in the GPU runner' } });
  });

  it('keeps the status of a handler error from the bundle’s own runtime copy, and makes anything else a HandlerError', () => {
    const http = Object.assign(new Error('name is required'), { statusCode: 422, code: 'APP_CODE' });
    expect(asAnswerable(http)).toEqual({ statusCode: 422, code: 'APP_CODE', message: 'name is required' });
    expect(asAnswerable(Object.assign(new Error('teapot'), { statusCode: 418 })).code).toBe('SPINDLE_FUNCTION_ERROR');
    for (const odd of [new Error('plain'), Object.assign(new Error('no'), { statusCode: 200 }), 'a string', null]) {
      const a = asAnswerable(odd);
      expect(a).toBeInstanceOf(HandlerError);
      expect(a.statusCode).toBe(500);
    }
    expect(asAnswerable(new Error('plain')).message).toBe('handler failed: plain');
    expect((asAnswerable('s') as HandlerError).cause).toBe('s');
  });

  it('refuses a bad setting with a RunnerConfigError', () => {
    expect(() => runnerConfigFromEnv({ SPINDLE_GPU_WORKERS: '-1' })).toThrow(RunnerConfigError);
    expect(() => runnerConfigFromEnv({ SPINDLE_GPU_EP: 'tpu' })).toThrow(/SPINDLE_GPU_EP must be auto, cuda or cpu, got "tpu"/);
  });
});

describe('execute answers each failing item with its error', () => {
  it('a body that is not JSON or breaks the input schema is a 400 SPINDLE_INVALID_INPUT; the others run', async () => {
    const f = fn({ handle: (input: unknown) => ({ twice: (input as { n: number }).n * 2 }) });
    const { results } = await execute(f, [item('{"n":'), item('{"m":1}', 1), item('{"n":2}', 2)], new Map(), 'cpu', logger);
    expect(results.map((r) => [r.status, r.code])).toEqual([
      [400, 'SPINDLE_INVALID_INPUT'],
      [400, 'SPINDLE_INVALID_INPUT'],
      [200, undefined],
    ]);
    expect(body(results[0]).error.message).toMatch(/^request body is not valid JSON: /);
    expect(body(results[1]).error.message).toBe('field "n" must have required property \'n\'');
    expect(body(results[2])).toEqual({ twice: 4 });
  });

  it('a handler that throws, returns text for a bytes output, or asks for an undeclared model is a 500 SPINDLE_FUNCTION_ERROR', async () => {
    const cases: Array<[Partial<AnyGpuFunctionDefinition>, RegExp]> = [
      [{ handle: () => Promise.reject(new Error('kaput')) }, /^handler failed: kaput$/],
      [{ input: 'application/octet-stream', output: 'image/png', handle: () => 'not bytes' }, /^handler failed: handle must return bytes \(output is "image\/png"\)$/],
      [{ models: { a: 'sha256:aa' }, handle: (_i, ctx) => ctx.session('b') }, /^handler failed: model "b" is not declared in models \(declared: a\)$/],
    ];
    for (const [def, message] of cases) {
      const { results } = await execute(fn(def), [item('{"n":1}')], new Map(), 'cpu', logger);
      expect([results[0].status, results[0].code]).toEqual([500, 'SPINDLE_FUNCTION_ERROR']);
      expect(body(results[0]).error.message).toMatch(message);
    }
  });

  it('a batched handle that answers the wrong number of results is retried item by item', async () => {
    const seen: number[] = [];
    const f = fn({
      batch: { maxSize: 4, maxDelayMs: 0 },
      handle: (inputs: unknown) => {
        const list = inputs as Array<{ n: number }>;
        seen.push(list.length);
        return list.length > 1 ? [] : list.map((x) => x.n);
      },
    });
    const { results } = await execute(f, [item('{"n":1}'), item('{"n":2}', 1)], new Map(), 'cpu', logger);
    expect(seen).toEqual([2, 1, 1]);
    expect(results.map((r) => body(r))).toEqual([1, 2]);
  });
});

describe('ModelCache', () => {
  it('rejects a model it cannot open with a ModelLoadError naming the digest and the path', async () => {
    const cache = new ModelCache(1 << 30, { executionProviders: ['cpu'] });
    const missing = join(tmpdir(), `spindle-missing-${process.pid}.onnx`);
    await expect(cache.acquire({ 'sha256:aa': missing })).rejects.toThrow(ModelLoadError);
    await expect(cache.acquire({ 'sha256:aa': missing })).rejects.toMatchObject({ statusCode: 500, code: 'SPINDLE_GPU_MODEL_LOAD_FAILED', message: expect.stringContaining(`model sha256:aa (${missing}) could not be loaded: `) });
    const garbage = join(tmpdir(), `spindle-garbage-${process.pid}.onnx`);
    await writeFile(garbage, 'not a model');
    const err = await cache.acquire({ 'sha256:bb': garbage }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as ModelLoadError).cause).toBeDefined();
    expect(cache.info()).toEqual([]);
  });
});
