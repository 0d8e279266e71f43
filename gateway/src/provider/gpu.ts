/**
 * The GPU runner as a provider: a function is loaded into the one long-lived runner (no replicas), and a
 * call is one job on the Redis stream. The body is read whole (bounded), the runner's answer sent back.
 */
import type { Readable } from 'node:stream';
import { BadRequestError, NotFoundError, PayloadTooLargeError } from '../errors.ts';
import type { GpuService } from '../gpu/service.ts';
import { GPU_QUEUE_LABEL } from '../gpu/service.ts';
import type { AnswerSink, ProgressEvent, Provider, ProviderCall, ProviderFunctionSpec, ReplicaStatus } from './types.ts';

/** Jobs queued for one GPU function before calls get 429, unless its label says otherwise. */
const DEFAULT_QUEUE_LIMIT = 1000;

async function readAll(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLargeError(limit);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

export class GpuProvider implements Provider {
  /** Queue limit of each deployed function (`com.spindle.gpu.queue-limit`). */
  private readonly queueLimits = new Map<string, number>();

  constructor(private readonly gpu: GpuService) {}

  async deploy(spec: ProviderFunctionSpec): Promise<void> {
    const raw = spec.labels[GPU_QUEUE_LABEL];
    if (raw !== undefined && !/^\d+$/.test(raw)) throw new BadRequestError(`field "labels.${GPU_QUEUE_LABEL}" must be a whole number, got "${raw.slice(0, 64)}"`);
    await this.gpu.deploy({ name: spec.name, version: spec.version, annotations: spec.annotations }, spec.bundlePath, spec.timeoutMs);
    this.queueLimits.set(spec.name, raw === undefined ? DEFAULT_QUEUE_LIMIT : Number(raw));
  }

  async remove(name: string): Promise<void> {
    this.queueLimits.delete(name);
    await this.gpu.remove(name);
  }

  /** GPU functions have no replicas: they live in the one runner. */
  scale(): boolean {
    return false;
  }

  /** One "replica" (the runner), available once the runner has the function loaded. */
  status(name: string): ReplicaStatus | null {
    if (!this.queueLimits.has(name)) return null;
    return { replicas: 1, availableReplicas: this.gpu.available(name) };
  }

  /** Jobs queued or running for `name` across every gateway (GPU functions report this instead of replicas). */
  async queueDepth(name: string): Promise<number> {
    return (await this.gpu.client.depth().catch(() => ({}) as Record<string, number>))[name] ?? 0;
  }

  async dispatch(call: ProviderCall, sink: AnswerSink): Promise<void> {
    const queueLimit = this.queueLimits.get(call.name);
    if (queueLimit === undefined) throw new NotFoundError(`function "${call.name}" is not deployed`);
    const body = call.body === null ? Buffer.alloc(0) : Buffer.isBuffer(call.body) ? call.body : await readAll(call.body, call.maxBodyBytes);
    const contentType = String(call.headers['content-type'] ?? 'application/octet-stream');
    const answer = await this.gpu.call({ name: call.name, callId: call.callId, contentType, body, timeoutMs: call.timeoutMs, queueLimit, signal: call.signal });
    sink(answer.status, { 'content-type': answer.contentType, 'content-length': String(answer.body.length) }).end(answer.body);
  }

  onProgress(fn: (event: ProgressEvent) => void): () => void {
    return this.gpu.client.onProgress(fn);
  }

  /** The runner is its own process; its Redis client is closed by the wiring. */
  async close(): Promise<void> {}
}
