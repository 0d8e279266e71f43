/**
 * The gateway's side of the GPU path: enqueues jobs on the Redis stream (enqueue.lua: backpressure
 * across gateways), reads this gateway's reply stream, tracks the runner's heartbeat, and publishes
 * GPU function specs for the runner to hot-load.
 *
 * Redis may restart empty (no persistence) or be flushed: the jobs and every reply stream go with it.
 * The epoch key tells: when it is gone or changed, every call waiting on a job of the old epoch fails at
 * once with a 503 (its job is lost; no reply will come), the specs this gateway deployed are published
 * again, and new calls go on under the new epoch (enqueue.lua refuses a job under a stale one).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RetryPacer, decodeReplyEntry, gpuKeys, type GpuFunctionSpec, type GpuReply, type RunnerStatus } from '@spindle/runtime';
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

type Pending = { fn: string; callId: string; epoch: string; resolve(r: GpuReply): void; reject(e: Error): void };

/** How often the heartbeat and the epoch are read; a status older than three polls is not trusted. */
const POLL_MS = 500;

/** A dead-lettered GPU job as `GET /system/runner` lists it. */
export interface GpuDeadLetter {
  id: string;
  callId: string | null;
  function: string | null;
  code: string | null;
  reason: string | null;
  deliveries: number;
  at: string;
}

export class GpuClient {
  readonly keys: ReturnType<typeof gpuKeys>;
  readonly gatewayId = randomUUID();
  private readonly replyKey: string;
  private readonly pending = new Map<string, Pending>();
  private readonly progress = new Set<(event: ProgressEvent) => void>();
  private status: RunnerStatus | null = null;
  private statusAt = 0;
  /** The epoch this gateway's jobs are queued under (null until Redis was first reached). */
  private epoch: string | null = null;
  private refreshing: Promise<void> | null = null;
  /** Specs deployed through this gateway: published again when Redis lost them (`republish`, until that worked). */
  private readonly specs = new Map<string, GpuFunctionSpec>();
  private republish = false;
  /** Where the reply reader is on the reply stream, and how many times it was reset (Redis lost the stream). */
  private cursor = '0-0';
  private resets = 0;
  private wake: (() => void) | null = null;
  private readonly connPacer = new RetryPacer();
  private readonly readPacer = new RetryPacer();
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
    redis.defineCommand('spindleGpuEnqueue', { numberOfKeys: 3, lua: ENQUEUE });
    // ioredis reports every failed reconnect: one warning, then one now and then while Redis stays away.
    const onError = (err: Error) => {
      const { log, failures, failingMs } = this.connPacer.failed();
      if (log && !this.closing) this.opts.logger.warn({ err: err.message, url: opts.redisUrl, failures, failingMs }, 'Redis is not reachable; GPU calls answer 503 until it is');
    };
    redis.on('error', onError);
    reader.on('error', onError);
    redis.on('close', () => (this.status = null));
    redis.on('ready', () => {
      if (this.connPacer.ok()) this.opts.logger.info({ url: opts.redisUrl }, 'Redis is reachable again');
      // It may have restarted empty: the epoch check fails the calls whose jobs are gone.
      void this.refresh();
    });
    reader.on('ready', () => this.wake?.());
  }

  /** Connects (without failing when Redis is down: GPU calls answer 503 until it is up) and starts reading replies. */
  async ready(): Promise<void> {
    await Promise.all([this.redis, this.reader].map((c) => (c.status === 'wait' ? c.connect().catch(() => {}) : undefined)));
    await this.refresh();
    this.poll = setInterval(() => void this.refresh(), POLL_MS);
    this.loop = this.readReplies();
  }

  /** Reads the heartbeat and checks the epoch (one at a time: concurrent callers share the pass under way). */
  private refresh(): Promise<void> {
    this.refreshing ??= this.refreshOnce().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    if (this.closing || this.redis.status !== 'ready') {
      this.status = null;
      return;
    }
    try {
      const [beat, epoch] = ((await this.redis.pipeline().get(this.keys.heartbeat).get(this.keys.epoch).exec()) ?? []).map(([err, v]) => {
        if (err) throw err;
        return v as string | null;
      });
      await this.checkEpoch(epoch);
      if (this.republish) await this.publishSpecs();
      this.status = beat ? (JSON.parse(beat) as RunnerStatus) : null;
      this.statusAt = Date.now();
    } catch {
      this.status = null;
    }
  }

  /** Adopts the epoch in Redis (setting one when there is none); a different one than ours means Redis lost its data. */
  private async checkEpoch(seen: string | null): Promise<void> {
    if (seen === null) {
      await this.redis.set(this.keys.epoch, randomUUID(), 'NX');
      seen = await this.redis.get(this.keys.epoch);
      if (seen === null) throw new Error(`${this.keys.epoch} vanished as it was set`);
    }
    if (seen === this.epoch) return;
    const previous = this.epoch;
    this.epoch = seen;
    if (previous !== null) this.lost();
  }

  /** Redis lost its data: fails every call waiting on a job of an older epoch, and publishes this gateway's specs again. */
  private lost(): void {
    let failed = 0;
    for (const p of this.pending.values()) {
      if (p.epoch === this.epoch) continue;
      p.reject(new UnavailableError(`the GPU job queue was lost while this call waited (Redis at ${this.opts.redisUrl} restarted empty or was flushed); its result will not come: retry`, 1));
      failed++;
    }
    this.cursor = '0-0';
    this.resets++;
    this.republish = true;
    this.opts.logger.warn({ url: this.opts.redisUrl, failedCalls: failed, specs: this.specs.size }, 'Redis lost its data (restarted empty or flushed): GPU calls waiting on lost jobs got 503; publishing the GPU function specs again');
  }

  private async publishSpecs(): Promise<void> {
    if (this.specs.size) {
      const m = this.redis.multi();
      for (const spec of this.specs.values()) m.hset(this.keys.functions, spec.name, JSON.stringify(spec)).publish(this.keys.deploys, spec.name);
      await m.exec();
    }
    this.republish = false;
  }

  /** The runner's last heartbeat, or null when no runner is alive (or its heartbeat could not be read lately). */
  runner(): RunnerStatus | null {
    if (this.redis.status !== 'ready' || Date.now() - this.statusAt > POLL_MS * 3) return null;
    return this.status;
  }

  /** Why GPU calls cannot be served now (Redis unreachable, no runner), or null when they can. */
  unavailable(): string | null {
    if (this.redis.status !== 'ready') return this.redisDown();
    if (!this.runner()) return `no GPU runner is alive (no heartbeat at ${this.keys.heartbeat}): start one with \`npm start\` or \`node --import tsx gpu-runner/src/main.ts\``;
    return null;
  }

  private redisDown(): string {
    return `GPU functions need Redis, which is not reachable at ${this.opts.redisUrl}; the gateway keeps retrying`;
  }

  /** Throws the 503 a GPU call gets when Redis or the runner is missing. */
  private assertUp(): void {
    const reason = this.unavailable();
    if (reason) throw new UnavailableError(reason, 5);
  }

  /** Enqueues a job and waits for its reply; 429 when the queue is full, 503 without runner, 504 past the timeout. */
  async call(c: GpuCall): Promise<GpuReply> {
    this.assertUp();
    const id = randomUUID();
    const deadline = Date.now() + c.timeoutMs;
    const fields = ['id', id, 'call', c.callId, 'fn', c.fn, 'reply', this.replyKey, 'deadline', String(deadline), 'ct', c.contentType, 'body', c.body];
    let reply: Promise<GpuReply> | undefined;
    // A stale epoch (Redis lost its data since the last check) is adopted and the job queued again, at most twice.
    for (let attempt = 0; !reply; attempt++) {
      if (this.epoch === null || attempt > 0) await this.refresh();
      const epoch = this.epoch;
      if (epoch === null) throw new UnavailableError(this.unavailable() ?? `could not read ${this.keys.epoch} on Redis at ${this.opts.redisUrl}`, 2);
      const waiting = new Promise<GpuReply>((resolve, reject) => this.pending.set(id, { fn: c.fn, callId: c.callId, epoch, resolve, reject }));
      waiting.catch(() => {}); // observed below, or dropped when the enqueue fails
      try {
        await (this.redis as unknown as { spindleGpuEnqueueBuffer(...a: unknown[]): Promise<unknown> }).spindleGpuEnqueueBuffer(this.keys.jobs, this.keys.depth, this.keys.epoch, this.opts.streamCap, c.fn, c.queueLimit, epoch, ...fields);
        reply = waiting;
      } catch (err) {
        this.pending.delete(id);
        const msg = String((err as Error).message);
        if (msg.includes('QUEUE')) throw new TooManyRequestsError(`GPU function ${c.fn} has ${c.queueLimit} jobs queued (its limit); retry later`, 1);
        if (msg.includes('FULL')) throw new TooManyRequestsError(`the GPU job stream holds ${this.opts.streamCap} jobs (its cap); retry later`, 2);
        if (msg.includes('EPOCH') && attempt < 2) continue;
        // The connection dropped under the call (ioredis says so before its status changes).
        if (this.redis.status !== 'ready' || /Stream isn't writeable|Connection is closed/.test(msg)) throw new UnavailableError(this.redisDown(), 5);
        throw new UnavailableError(`could not enqueue the GPU job on Redis at ${this.opts.redisUrl}: ${msg}`, 2);
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => this.pending.get(id)?.reject(new TimeoutError(`call to ${c.fn} was cancelled`));
    c.signal?.addEventListener('abort', onAbort, { once: true });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Redis went away and has not come back: whether the job survives is unknown until it does.
        if (this.redis.status !== 'ready') reject(new UnavailableError(`GPU function ${c.fn} did not answer within its timeout of ${c.timeoutMs} ms, and Redis at ${this.opts.redisUrl} is not reachable; retry`, 5));
        else reject(new TimeoutError(`GPU function ${c.fn} did not answer within its timeout of ${c.timeoutMs} ms`));
      }, c.timeoutMs);
    });
    try {
      return await Promise.race([reply, timeout]);
    } finally {
      clearTimeout(timer);
      c.signal?.removeEventListener('abort', onAbort);
      this.pending.delete(id);
    }
  }

  /** Waits until the reader is connected again, `close()`, or `ms`. */
  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  /** The reply (and progress) reader: one blocking XREAD at a time; waits while Redis is away, backs off on other errors. */
  private async readReplies(): Promise<void> {
    while (!this.closing) {
      if (this.reader.status !== 'ready') {
        await this.idle(1000);
        continue;
      }
      const resets = this.resets;
      try {
        const res = (await this.reader.callBuffer('XREAD', 'COUNT', 512, 'BLOCK', 1000, 'STREAMS', this.replyKey, this.cursor)) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
        if (this.readPacer.ok()) this.opts.logger.info({ stream: this.replyKey }, 'reading GPU replies works again');
        if (!res) continue;
        let last = this.cursor;
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
        // Unless the stream was lost while this read was under way (then the new one is read from its start).
        if (resets === this.resets) this.cursor = last;
        // Handled replies (whole bodies: matte PNGs are megabytes) need not stay in Redis.
        void this.redis.xtrim(this.replyKey, 'MINID', last).catch(() => {});
      } catch (err) {
        if (this.closing) break;
        if (this.reader.status !== 'ready') continue;
        const { delayMs, log, failures, failingMs } = this.readPacer.failed();
        if (log) this.opts.logger.warn({ err: (err as Error).message, stream: this.replyKey, failures, failingMs }, 'reading GPU replies failed; retrying with backoff');
        await this.idle(delayMs);
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
    this.specs.set(spec.name, spec);
  }

  /** Removes a GPU function from the runner. */
  async remove(name: string): Promise<void> {
    this.specs.delete(name);
    await this.redis.multi().hdel(this.keys.functions, name).publish(this.keys.deploys, name).exec();
  }

  /** Jobs queued or in progress per function (every gateway's). */
  async depth(): Promise<Record<string, number>> {
    if (this.redis.status !== 'ready') return {};
    const raw = await this.redis.hgetall(this.keys.depth);
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Math.max(0, Number(v))]));
  }

  /** GPU jobs dead-lettered by the runner (`<prefix>:gpu:dead`): how many, and the newest `limit` without their bodies. */
  async deadLetters(limit: number): Promise<{ count: number; recent: GpuDeadLetter[] }> {
    if (this.redis.status !== 'ready') return { count: 0, recent: [] };
    const [count, entries] = await Promise.all([this.redis.xlen(this.keys.dead), this.redis.xrevrange(this.keys.dead, '+', '-', 'COUNT', limit)]);
    const recent = entries.map(([entry, fields]) => {
      const f = new Map<string, string>();
      // Job fields, the body among them, then the runner's reason: everything but the body, which may be large or private.
      for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] !== 'body') f.set(fields[i], fields[i + 1].slice(0, 1000));
      return {
        id: f.get('id') ?? entry,
        callId: f.get('call') ?? null,
        function: f.get('fn') ?? null,
        code: f.get('code') ?? null,
        reason: f.get('reason') ?? null,
        deliveries: Number(f.get('deliveries') ?? 0),
        at: new Date(Number(entry.split('-')[0])).toISOString(),
      };
    });
    return { count, recent };
  }

  /** Stops reading replies (pending calls fail with 503) and deletes this gateway's reply stream. Idempotent. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.poll) clearInterval(this.poll);
    for (const p of this.pending.values()) p.reject(new UnavailableError('the gateway is shutting down', 1));
    this.reader.disconnect();
    this.wake?.();
    await this.loop;
    if (this.redis.status === 'ready') await this.redis.del(this.replyKey).catch(() => {});
    this.redis.disconnect();
  }
}
