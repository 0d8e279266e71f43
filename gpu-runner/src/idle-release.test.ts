import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mlpModel } from './onnx-writer.ts';
import { WorkerPool } from './pool.ts';

// SPINDLE_GPU_IDLE_RELEASE_S: a real worker thread and onnxruntime session, released when unused, loaded again by the next call.
describe('idle release', () => {
  let dir: string;
  let pool: WorkerPool;
  const loads: string[] = [];
  const item = { id: 'call', contentType: 'application/octet-stream', body: new Uint8Array([0]) };
  const until = async (check: () => boolean, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spindle-idle-'));
    pool = new WorkerPool({ size: 1, ep: 'cpu', budgetBytes: 1 << 30, threads: 1, idleReleaseMs: 400, onModelLoad: (digest) => loads.push(digest) });
  });
  afterAll(async () => {
    await pool?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('releases a model unused for the idle time and loads it again for the next call', async () => {
    const model = join(dir, 'm.onnx');
    await writeFile(model, mlpModel({ dim: 4, hidden: 4 }));
    const bundle = join(dir, 'fn.mjs');
    await writeFile(bundle, "export default { kind: 'gpu', input: 'application/octet-stream', output: 'application/octet-stream', models: { m: 'sha256:mm' }, handle: (_input, ctx) => (ctx.session('m'), new Uint8Array([1])) };\n");
    await pool.load('fn@1', { name: 'fn', version: 1, bundlePath: bundle, models: { 'sha256:mm': model }, timeoutMs: 5000 });
    await until(() => pool.models().length === 1);
    expect(loads).toEqual(['sha256:mm']);

    await until(() => pool.models().length === 0);
    // Still deployed: the next call loads the model again and answers.
    expect((await pool.run('fn@1', [item])).results[0].status).toBe(200);
    expect(loads).toEqual(['sha256:mm', 'sha256:mm']);
    expect(pool.models().map((m) => m.digest)).toEqual(['sha256:mm']);
  });
});
