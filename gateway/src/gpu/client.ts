/**
 * The gateway's side of the GPU path: enqueues jobs on the Redis stream (enqueue.lua: backpressure
 * across gateways), reads this gateway's reply stream, tracks the runner's heartbeat, and publishes
 * GPU function specs for the runner to hot-load.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { decodeReplyEntry, gpuKeys, type GpuFunctionSpec, type GpuReply, type RunnerStatus } from '@spindle/runtime';
import { TimeoutError, TooManyRequestsError, UnavailableError } from '../errors.ts';
import type { ProgressEvent } from '../provider/types.ts';

const ENQUEUE = readFileSync(new URL('./enqueue.lua', import.meta.url), 'utf8');

/** One GPU call. */
export interface GpuCall {
  fn: string;
  callId: string;
  contentType: string;
  body: Buffer;
  timeoutMs: number;
  queueLimit: number;
  signal?: AbortSignal;
}

export interface GpuClientOptions {
  prefix: string;
  redisUrl: string;
  /** Most entries on the jobs stream (every function together). */
  streamCap: number;
  logger: Logger;
}

type Pending = { fn: string; callId: string; resolve(r: GpuReply): void; reject(e: Error): void };

export class GpuClient {
  readonly keys: ReturnType<typeof gpuKeys>;
  readonly gatewayId = randomUUID();
  private readonly replyKey: string;
  private readonly pending = new Map<string, Pending>();
  private readonly progress = new Set<(event: ProgressEvent) => void>();
  private status: RunnerStatus | null = null;
  private closing = false;
  private loop: Promise<void> | null = null;
  private poll: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly reader: Redis,
    private readonly opts: GpuClientOptions,
  ) {
    this.keys = gpuKeys(opts.prefix);
    this.replyKey = this.keys.replies(this.gatewayId);
    redis.defineCommand('spindleGpuEnqueue', { numberOfKeys: 2, lua: ENQUEUE });
  }

  /** Connects (without failing when Redis is down: GPU calls answer 503 until it is up) and starts reading replies. */
  async ready(): Promise<void> {
    await Promise.all([this.redis, this.reader].map((c) => (c.status === 'wait' ? c.connect().catch(() => {}) : undefined)));
    await this.refresh();
    this.poll = setInterval(() => void this.refresh(), 500);
    this.loop = this.readReplies();
  }

  private async refresh(): Promise<void> {
    try {
      const raw = this.redis.status === 'ready' ? await this.redis.get(this.keys.heartbeat) : null;
      this.status = raw ? (JSON.parse(raw) as RunnerStatus) : null;
    } catch {
      this.status = null;
    }
  }

  /** The runner's last heartbeat, or null when no runner is alive. */
  runner(): RunnerStatus | null {
    return this.status;
  }

  /** Throws the 503 a GPU call gets when Redis or the runner is missing. */
  private assertUp(): void {
    if (this.redis.status !== 'ready') throw new UnavailableError(`GPU functions need Redis, which is not reachable at ${this.opts.redisUrl}; the gateway keeps retrying`, 5);
    if (!this.status) {
      throw new UnavailableError(`no GPU runner is alive (no heartbeat at ${this.keys.heartbeat}): start one with \`npm start\` or \`node --import tsx gpu-runner/src/main.ts\``, 5);
    }
  }

  /** Enqueues a job and waits for its reply; 429 when the queue is full, 503 without runner, 504 past the timeout. */
  async call(c: GpuCall): Promise<GpuReply> {
    this.assertUp();
    const id = randomUUID();
    const deadline = Date.now() + c.timeoutMs;
    const reply = new Promise<GpuReply>((resolve, reject) => this.pending.set(id, { fn: c.fn, callId: c.callId, resolve, reject }));
    const fields = ['id', id, 'call', c.callId, 'fn', c.fn, 'reply', this.replyKey, 'deadline', String(deadline), 'ct', c.contentType, 'body', c.body];
    try {
      await (this.redis as unknown as { spindleGpuEnqueueBuffer(...a: unknown[]): Promise<unknown> }).spindleGpuEnqueueBuffer(this.keys.jobs, this.keys.depth, this.opts.streamCap, c.fn, c.queueLimit, ...fields);
    } catch (err) {
      this.pending.delete(id);
      const msg = String((err as Error).message);
      if (msg.includes('QUEUE')) throw new TooManyRequestsError(`GPU function ${c.fn} has ${c.queueLimit} jobs queued (its limit); retry later`, 1);
      if (msg.includes('FULL')) throw new TooManyRequestsError(`the GPU job stream holds ${this.opts.streamCap} jobs (its cap); retry later`, 2);
      throw new UnavailableError(`could not enqueue the GPU job on Redis at ${this.opts.redisUrl}: ${msg}`, 2);
    }
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => this.pending.get(id)?.reject(new TimeoutError(`call to ${c.fn} was cancelled`));
    c.signal?.addEventListener('abort', onAbort, { once: true });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`GPU function ${c.fn} did not answer within its timeout of ${c.timeoutMs} ms`)), c.timeoutMs);
    });
    try {
      return await Promise.race([reply, timeout]);
    } finally {
      clearTimeout(timer);
      c.signal?.removeEventListener('abort', onAbort);
      this.pending.delete(id);
    }
  }

  private async readReplies(): Promise<void> {
    let last = '0-0';
    while (!this.closing) {
      try {
        const res = (await this.reader.callBuffer('XREAD', 'COUNT', 512, 'BLOCK', 1000, 'STREAMS', this.replyKey, last)) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
        if (!res) continue;
        for (const [entry, raw] of res[0][1]) {
          last = entry.toString();
          const e = decodeReplyEntry(raw);
          if ('reply' in e) {
            this.pending.get(e.reply.id)?.resolve(e.reply);
            continue;
          }
          const p = this.pending.get(e.progress.id);
          if (p) for (const fn of this.progress) fn({ name: p.fn, callId: p.callId, fraction: e.progress.fraction, message: e.progress.message });
        }
        // Handled replies (whole bodies: matte PNGs are megabytes) need not stay in Redis.
        void this.redis.xtrim(this.replyKey, 'MINID', last).catch(() => {});
      } catch (err) {
        if (this.closing) break;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Calls `fn` with each progress report of a GPU call this gateway is waiting for (keyed by its X-Call-Id); returns the unsubscribe. */
  onProgress(fn: (event: ProgressEvent) => void): () => void {
    this.progress.add(fn);
    return () => void this.progress.delete(fn);
  }

  /** Stores a GPU function's spec and tells the runner to hot-load it. */
  async deploy(spec: GpuFunctionSpec): Promise<void> {
    await this.redis.multi().hset(this.keys.functions, spec.name, JSON.stringify(spec)).publish(this.keys.deploys, spec.name).exec();
  }

  /** Removes a GPU function from the runner. */
  async remove(name: string): Promise<void> {
    await this.redis.multi().hdel(this.keys.functions, name).publish(this.keys.deploys, name).exec();
  }

  /** Jobs queued or in progress per function (every gateway's). */
  async depth(): Promise<Record<string, number>> {
    if (this.redis.status !== 'ready') return {};
    const raw = await this.redis.hgetall(this.keys.depth);
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Math.max(0, Number(v))]));
  }

  /** Stops reading replies (pending calls fail with 503) and deletes this gateway's reply stream. Idempotent. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.poll) clearInterval(this.poll);
    for (const p of this.pending.values()) p.reject(new UnavailableError('the gateway is shutting down', 1));
    this.reader.disconnect();
    await this.loop;
    if (this.redis.status === 'ready') await this.redis.del(this.replyKey).catch(() => {});
    this.redis.disconnect();
  }
}
