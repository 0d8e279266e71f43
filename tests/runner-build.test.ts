/**
 * The GPU runner as `spindle start` runs it: built into plain JavaScript (cli/src/process-bundle.ts) and started on
 * node alone, serving the generated MLP, Silero VAD through onnxruntime and ISNet through sharp, both native modules
 * resolved from the runner's installation although the build lives elsewhere.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { RUNNER_BUILD } from '@spindle/gpu-runner/build';
import { bundleProcess, stopBundler } from '@spindle/cli';
import { encodeWav } from '../functions/vad/wav.ts';
import { startPlatform, tempDir, type Api } from './harness.ts';
import { deployGpu, loaded, redisPrefix, startRunner, waitRunner, type RunnerProc } from './gpu-harness.ts';
import { hush } from './voice.ts';

let api: Api;
let stop: () => Promise<void>;
let runner: RunnerProc;
const redis = redisPrefix();

beforeAll(async () => {
  const built = await bundleProcess({ ...RUNNER_BUILD, outDir: join(await tempDir('spindle-runner-build-'), '_gpu-runner') });
  await stopBundler();
  ({ api, stop } = await startPlatform({ redisPrefix: redis.prefix }));
  runner = await startRunner(redis.prefix, {}, built.files.main);
  for (const [service, fn] of [['mlp', 'gpu-mlp'], ['vad', 'vad'], ['matte', 'matte']]) expect((await deployGpu(api, service, fn)).status).toBe(202);
  await waitRunner(api, (s) => loaded('mlp')(s) && loaded('vad')(s) && loaded('matte')(s), 120_000);
}, 240_000);
afterAll(async () => {
  await runner?.stop();
  await stop?.();
  await redis.cleanup();
});

describe('the built GPU runner', () => {
  it('runs on plain node: no tsx, and no esbuild service behind it', () => {
    const pid = runner.child.pid!;
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).not.toContain('tsx');
    const tasks = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    expect(tasks).toBe('');
  });

  it('answers the MLP, VAD and ISNet functions', async () => {
    const mlp = await api.invoke('mlp', { body: JSON.stringify({ x: Array.from({ length: 16 }, (_, i) => i / 16) }), headers: { 'content-type': 'application/json' } });
    expect(mlp.status).toBe(200);
    expect((await mlp.json()).y).toHaveLength(16);
    const vad = await api.invoke('vad', { body: new Uint8Array(encodeWav(hush(1), 16_000)), headers: { 'content-type': 'audio/wav' } });
    expect(vad.status).toBe(200);
    expect(await vad.json()).toEqual({ segments: [], duration: 1 });
    const image = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#1e3a8a' } }).png().toBuffer();
    const matte = await api.invoke('matte', { body: new Uint8Array(image), headers: { 'content-type': 'image/png' } });
    expect(matte.status).toBe(200);
    expect((await sharp(Buffer.from(await matte.arrayBuffer())).metadata()).channels).toBe(4);
  }, 120_000);
});
