/** GPU functions as the rest of the gateway sees them: deploy to the runner, call through the stream, metrics. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ArtifactsEndpoint, GpuReply, RunnerStatus } from '@spindle/runtime';
import { BadRequestError, SpindleError } from '../errors.ts';
import type { BundleStore } from '../store/index.ts';
import type { GpuCall, GpuClient } from './client.ts';

/** Annotation that marks a GPU function (`spindle deploy` sets it for `lang: gpu`). */
const GPU_LANG_ANNOTATION = 'com.spindle.lang';
/** Annotation listing the function's model digests, comma-separated (`sha256:<hex>`). */
const GPU_MODELS_ANNOTATION = 'com.spindle.gpu.models';
/** Label bounding the jobs queued for one GPU function (default 1000); past it calls get 429. */
export const GPU_QUEUE_LABEL = 'com.spindle.gpu.queue-limit';
const DIGEST = /^sha256:([a-f0-9]{64})$/;

/** True when a deploy request describes a GPU function. */
export function isGpuSpec(spec: { annotations?: Record<string, string> }): boolean {
  return spec.annotations?.[GPU_LANG_ANNOTATION] === 'gpu';
}

/** The model digests a GPU deploy names (400 when one is malformed). */
function modelDigests(spec: { annotations?: Record<string, string> }): string[] {
  const raw = spec.annotations?.[GPU_MODELS_ANNOTATION] ?? '';
  return raw.split(',').map((s) => s.trim()).filter(Boolean).map((d) => {
    if (!DIGEST.test(d)) throw new BadRequestError(`field "annotations.${GPU_MODELS_ANNOTATION}" must list sha256:<64 hex> digests, got "${d}"`);
    return d;
  });
}

/** One GPU invocation as the invoke paths hand it over: a GpuCall named by `name`. */
export type GpuRequest = Omit<GpuCall, 'fn'> & { name: string };

export class GpuService {
  private readonly jobs: Counter<'function' | 'status'>;
  /** This gateway's `/internal/artifacts` and token, set once it listens: every deploy tells the runner (`ctx.artifacts`). */
  artifacts: ArtifactsEndpoint | undefined;

  constructor(
    readonly client: GpuClient,
    private readonly bundles: BundleStore,
    private readonly bundleDir: string,
    registry: Registry,
  ) {
    const registers = [registry];
    this.jobs = new Counter({ name: 'spindle_gpu_jobs_total', help: 'GPU calls by outcome as the gateway saw them (ok, error, rejected, unavailable, timeout)', labelNames: ['function', 'status'], registers });
    new Gauge({
      name: 'spindle_gpu_queue_depth',
      help: 'GPU jobs queued or in progress, per function',
      labelNames: ['function'],
      registers,
      async collect() {
        this.reset();
        for (const [fn, n] of Object.entries(await client.depth().catch(() => ({})))) this.set({ function: fn }, n);
      },
    });
  }

  /** Calls a GPU function through the stream; the runner's answer, whatever its status. */
  async call(req: GpuRequest): Promise<GpuReply> {
    try {
      const reply = await this.client.call({ fn: req.name, callId: req.callId, contentType: req.contentType, body: req.body, timeoutMs: req.timeoutMs, queueLimit: req.queueLimit, signal: req.signal });
      this.jobs.inc({ function: req.name, status: reply.status < 400 ? 'ok' : 'error' });
      return reply;
    } catch (err) {
      const status = err instanceof SpindleError ? ({ 429: 'rejected', 503: 'unavailable', 504: 'timeout' } as Record<number, string>)[err.statusCode] ?? 'error' : 'error';
      this.jobs.inc({ function: req.name, status });
      throw err;
    }
  }

  /** Checks and copies the function's models out of the object store, then hands the version to the runner. */
  async deploy(fn: { name: string; version: number; annotations: Record<string, string> }, bundlePath: string, timeoutMs: number): Promise<void> {
    const models: Record<string, string> = {};
    for (const digest of modelDigests(fn)) {
      const hex = digest.slice('sha256:'.length);
      const path = await this.bundles.localCopy(hex, this.bundleDir, '.onnx');
      if (!path) throw new BadRequestError(`field "annotations.${GPU_MODELS_ANNOTATION}": the gateway has no model ${digest}; upload it first (PUT /system/bundles/${digest})`);
      models[digest] = path;
    }
    await this.client.deploy({ name: fn.name, version: fn.version, bundlePath, models, timeoutMs, ...(this.artifacts && { artifacts: this.artifacts }) });
  }

  /** Unloads a function from the runner. */
  remove(name: string): Promise<void> {
    return this.client.remove(name);
  }

  /** The runner's heartbeat, or null. */
  runner(): RunnerStatus | null {
    return this.client.runner();
  }

  /** 1 when the runner has `name` loaded and serving, else 0 (OpenFaaS's availableReplicas). */
  available(name: string): number {
    return this.runner()?.functions.some((f) => f.name === name && f.version > 0) ? 1 : 0;
  }
}
