import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GpuFunctionSpec } from '@spindle/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnerError } from './errors.ts';
import { mlpModel } from './onnx-writer.ts';
import { WorkerPool } from './pool.ts';

// A real worker thread, real onnxruntime sessions; the "bundles" are plain ESM files (no build needed).
describe('WorkerPool errors', () => {
  let dir: string;
  let pool: WorkerPool;
  const model = mlpModel({ dim: 4, hidden: 4 });

  const bundle = async (name: string, source: string) => {
    const path = join(dir, `${name}.mjs`);
    await writeFile(path, source);
    return path;
  };
  const gpuBundle = (digest: string) =>
    bundle(digest.slice(7), `export default { kind: 'gpu', input: 'application/octet-stream', output: 'application/octet-stream', models: { m: '${digest}' }, handle: (_input, ctx) => (ctx.session('m'), new Uint8Array([1])) };\n`);
  const spec = (name: string, bundlePath: string, models: Record<string, string>): GpuFunctionSpec => ({ name, version: 1, bundlePath, models, timeoutMs: 5000 });
  const item = { id: 'call', contentType: 'application/octet-stream', body: new Uint8Array([0]) };
  const within = <T>(p: Promise<T>, ms = 10_000) => Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))]);
  const answer = (r: { body: Uint8Array }) => JSON.parse(Buffer.from(r.body).toString('utf8'));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spindle-pool-'));
    // Room for one model only: loading the second evicts the first.
    pool = new WorkerPool({ size: 1, ep: 'cpu', budgetBytes: model.byteLength + 16, threads: 1 });
  });
  afterAll(async () => {
    await pool?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a bundle that is not a GPU function with SPINDLE_GPU_BUNDLE_INVALID', async () => {
    const path = await bundle('plain', 'export default { kind: "control", handle: () => 1 };\n');
    const err = await within(pool.load('plain@1', spec('plain', path, {}))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunnerError);
    expect(err).toMatchObject({ code: 'SPINDLE_GPU_BUNDLE_INVALID', message: `${path} does not export default defineGpuFunction(...)` });
  });

  it('answers every item of a batch whose evicted model cannot be loaded again, instead of never answering', async () => {
    const [a, b] = [join(dir, 'a.onnx'), join(dir, 'b.onnx')];
    await writeFile(a, model);
    await writeFile(b, model);
    await within(pool.load('a@1', spec('a', await gpuBundle('sha256:aa'), { 'sha256:aa': a })));
    expect((await within(pool.run('a@1', [item]))).results[0].status).toBe(200);
    await within(pool.load('b@1', spec('b', await gpuBundle('sha256:bb'), { 'sha256:bb': b })));
    await rm(a);
    const { results } = await within(pool.run('a@1', [item, { ...item, id: 'call-2' }]));
    expect(results.map((r) => [r.status, r.code])).toEqual([
      [500, 'SPINDLE_GPU_MODEL_LOAD_FAILED'],
      [500, 'SPINDLE_GPU_MODEL_LOAD_FAILED'],
    ]);
    expect(answer(results[0]).error.message).toContain(`model sha256:aa (${a}) could not be loaded: `);
    // The worker is still serving.
    expect((await within(pool.run('b@1', [item]))).results[0].status).toBe(200);
  });

  it('answers a batch for a version the worker does not hold with 503 SPINDLE_GPU_NOT_LOADED', async () => {
    const { results } = await within(pool.run('nothing@1', [item]));
    expect([results[0].status, results[0].code, answer(results[0]).error.message]).toEqual([503, 'SPINDLE_GPU_NOT_LOADED', 'nothing@1 is not loaded in this worker']);
  });
});
