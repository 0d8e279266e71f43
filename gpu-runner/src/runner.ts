/**
 * The GPU runner's main loop: reads the jobs stream (one consumer group), batches per function,
 * hands batches to inference workers, answers on the caller's reply stream, and keeps its jobs alive
 * (heartbeat, idle reset) while reclaiming those of a runner that died. When Redis comes back empty
 * (restarted without persistence, flushed), the stream and the group are created again (JobStream) and
 * the loaded functions keep serving; the heartbeat stops while the jobs stream cannot be read.
 */
import { once } from 'node:events';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RetryPacer, type GpuJob, type GpuReply, type RunnerStatus } from '@spindle/runtime';
import type { EpChoice } from './ep.ts';
import { DeadLetterError, errorAnswer, FunctionLoadError, FunctionNotLoadedError, MalformedJobError, RunnerError, WorkerFailedError } from './errors.ts';
import type { RunnerMetrics } from './metrics.ts';
import { WorkerPool } from './pool.ts';
import { JobStream, type Delivered } from './stream.ts';
import { FunctionTable, type FnState } from './table.ts';

/** Everything the runner is told (see config.ts for the variables). */
export interface RunnerOptions {
  prefix: string;
  ep: EpChoice;
  workers: number;
  threads: number;
  budgetBytes: number;
  /** Release a model's sessions after this long unused (0 or absent: never); see config.ts. */
  idleReleaseMs?: number;
  /** A job idle this long belongs to a dead runner and is reclaimed. */
  claimIdleMs: number;
  /** Deliveries after which a job goes to the dead-letter stream. */
  maxDeliveries: number;
  /** Most jobs held locally (queued + computing) before the runner stops reading. */
  prefetch: number;
  heartbeatMs: number;
}

interface Held extends GpuJob {
  at: number;
}

/** A failed job's reply (answer() sets its id). */
const failure = (err: RunnerError): GpuReply => ({ id: '', ...errorAnswer(err) });

export class Runner {
  readonly consumer = `${hostname()}-${process.pid}-${Date.now().toString(36)}`;
  private readonly stream: JobStream;
  private readonly pool: WorkerPool;
  private readonly table: FunctionTable;
  private readonly queues = new Map<string, Held[]>();
  private readonly held = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly counts: Record<string, number> = {};
  private readonly batches = { count: 0, items: 0, maxSize: 0, sizes: {} as Record<string, number> };
  private closing = false;
  private loops: Promise<void>[] = [];
  private intervals: NodeJS.Timeout[] = [];
  private readonly startedAt = new Date().toISOString();
  /** Failures of the jobs stream read, of the heartbeat, of the claim pass: retried with backoff, logged now and then. */
  private readonly readPacer = new RetryPacer();
  private readonly beatPacer = new RetryPacer();
  private readonly claimPacer = new RetryPacer();
  private groupLostLogged = 0;

  constructor(
    private readonly redis: Redis,
    private readonly reader: Redis,
    private readonly sub: Redis,
    private readonly opts: RunnerOptions,
    private readonly metrics: RunnerMetrics,
    private readonly logger: Logger,
  ) {
    this.stream = new JobStream(redis, reader, opts.prefix, this.consumer, () => this.groupLost());
    this.pool = new WorkerPool({
      size: opts.workers,
      ep: opts.ep.ep,
      budgetBytes: opts.budgetBytes,
      threads: opts.threads,
      idleReleaseMs: opts.idleReleaseMs,
      onModelLoad: (digest) => metrics.modelLoads.inc({ model: digest.slice(0, 19) }),
      onWorkerExit: (code) => logger.error({ code }, 'inference worker exited; restarted'),
    });
    this.pool.on('idle', () => this.pump());
    this.table = new FunctionTable(redis, this.stream.keys.functions, this.pool, logger, (name) => this.onFunctionChange(name));
  }

  /** Joins the group, loads every deployed function, and starts reading, claiming and heartbeating. */
  async ready(): Promise<void> {
    await this.stream.ensureGroup();
    // SUBSCRIBE only once the subscriber connection is ready: queued while it connects, it went out ahead of
    // ioredis's ready check, which then failed ("Connection in subscriber mode") and dropped the connection;
    // the deploys published while it was down were never heard, so functions deployed then never loaded.
    if (this.sub.status !== 'ready') await once(this.sub, 'ready');
    await this.sub.subscribe(this.stream.keys.deploys);
    this.sub.on('message', (_ch: string, name: string) => void this.table.sync(name).catch((err) => this.logger.error({ err }, 'deploy sync failed')));
    // Whenever the subscription comes back after a drop, catch up on what was deployed meanwhile.
    this.sub.on('ready', () => void this.paced(this.beatPacer, 'catching up on deploys after a reconnect', () => this.table.syncAll({ keepMissing: true })));
    await this.heartbeat();
    await this.table.syncAll();
    await this.heartbeat();
    this.intervals.push(setInterval(() => void this.paced(this.beatPacer, 'heartbeat', () => this.heartbeat()), this.opts.heartbeatMs));
    const every = Math.max(100, Math.floor(this.opts.claimIdleMs / 3));
    this.intervals.push(setInterval(() => void this.paced(this.claimPacer, 'claiming idle jobs', () => this.keepAlive()), every));
    // After a reconnect Redis may have restarted empty: the group, the heartbeat and (until a gateway
    // publishes them again) the function specs are gone. Functions loaded here stay loaded.
    this.redis.on('ready', () => void this.paced(this.beatPacer, 'resuming after a Redis reconnect', () => this.resume()));
    this.loops.push(this.consume());
    await this.keepAlive();
  }

  private async resume(): Promise<void> {
    await this.stream.ensureGroup();
    await this.heartbeat();
    await this.table.syncAll({ keepMissing: true });
  }

  /** Runs one periodic Redis task unless Redis is away (commands would only pile up in the offline queue); failures are logged now and then. */
  private async paced(pacer: RetryPacer, what: string, task: () => Promise<void>): Promise<void> {
    if (this.closing || this.redis.status !== 'ready') return;
    try {
      await task();
      const failures = pacer.ok();
      if (failures) this.logger.info({ failures }, `${what} works again`);
    } catch (err) {
      const { log, failures, failingMs } = pacer.failed();
      if (log) this.logger.warn({ err: (err as Error).message, failures, failingMs }, `${what} failed; retrying`);
    }
  }

  /** The jobs stream's group was gone: Redis lost its data, and the jobs held here with it (their callers were told by their gateway). */
  private groupLost(): void {
    if (Date.now() - this.groupLostLogged < 5000) return;
    this.groupLostLogged = Date.now();
    this.logger.warn({ stream: this.stream.keys.jobs, held: this.held.size }, 'the GPU jobs stream or its consumer group was gone (Redis restarted empty or was flushed); created them again');
  }

  private async consume(): Promise<void> {
    while (!this.closing) {
      try {
        if (this.held.size >= this.opts.prefetch) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        const got = await this.stream.read(Math.min(256, this.opts.prefetch - this.held.size), 1000);
        const failures = this.readPacer.ok();
        if (failures) this.logger.info({ failures }, 'reading the jobs stream works again');
        for (const d of got) this.accept(d);
      } catch (err) {
        if (this.closing) break;
        const { delayMs, log, failures, failingMs } = this.readPacer.failed();
        if (log) this.logger.warn({ err: (err as Error).message, failures, failingMs }, 'reading the jobs stream failed; retrying with backoff');
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  /** Resets the idle time of held jobs, then reclaims jobs a dead runner left behind. */
  private async keepAlive(): Promise<void> {
    if (this.held.size) await this.stream.refresh([...this.held]);
    const claimed = await this.stream.claim(this.opts.claimIdleMs, 256);
    for (const d of claimed) {
      if (this.held.has(d.entry)) continue;
      if (d.deliveries > this.opts.maxDeliveries) {
        this.logger.error({ entry: d.entry, deliveries: d.deliveries }, 'job dead-lettered');
        this.count(d.job?.fn ?? 'unknown', 'dead');
        await this.stream.deadLetter(d, new DeadLetterError(d.job?.id ?? d.entry, d.job?.fn ?? '?', d.deliveries, this.stream.keys.dead));
        continue;
      }
      this.logger.info({ entry: d.entry, deliveries: d.deliveries }, 'reclaimed a job from a dead runner');
      this.accept(d);
    }
  }

  private accept(d: Delivered): void {
    const job = d.job;
    if (!job) {
      void this.stream.deadLetter(d, new MalformedJobError(d.entry));
      return;
    }
    this.held.add(job.entry);
    if (job.deadline && Date.now() > job.deadline) {
      this.skip(job);
      return;
    }
    const fn = this.table.fns.get(job.fn);
    if (!fn) return void this.answer(job, failure(new FunctionNotLoadedError(job.fn)), 'unknown');
    if (fn.state === 'failed' && !fn.active) return void this.answer(job, failure(new FunctionLoadError(job.fn, fn.error ?? 'unknown error')), 'error');
    const q = this.queues.get(job.fn) ?? [];
    this.queues.set(job.fn, q);
    q.push({ ...job, at: performance.now() });
    this.metrics.queueDepth.inc({ function: job.fn });
    this.pump();
  }

  private skip(job: GpuJob): void {
    // The caller has given up: computing would waste the GPU. No reply: nobody reads it.
    void this.answer(job, null, 'expired');
  }

  private count(fn: string, status: string, n = 1): void {
    this.metrics.jobs.inc({ function: fn, status }, n);
    this.counts[status] = (this.counts[status] ?? 0) + n;
  }

  private async answer(job: GpuJob, reply: GpuReply | null, status: string): Promise<void> {
    this.count(job.fn, status);
    try {
      await this.stream.finish(job, reply && { ...reply, id: job.id });
    } catch (err) {
      this.logger.error({ err: (err as Error).message, entry: job.entry }, 'could not answer a job; it will be reclaimed');
    } finally {
      this.held.delete(job.entry);
    }
  }

  private onFunctionChange(name: string): void {
    const fn = this.table.fns.get(name);
    const q = this.queues.get(name) ?? [];
    if (!fn || (fn.state === 'failed' && !fn.active)) {
      this.queues.delete(name);
      this.metrics.queueDepth.dec({ function: name }, q.length);
      const reply = failure(fn ? new FunctionLoadError(name, fn.error ?? 'unknown error') : new FunctionNotLoadedError(name, 'removed'));
      for (const job of q) void this.answer(job, reply, 'error');
    }
    this.pump();
  }

  /** Sends ready batches to idle workers, the function waiting longest first. */
  private pump(): void {
    while (this.pool.idle() > 0) {
      let best: { fn: FnState; q: Held[] } | null = null;
      const now = performance.now();
      for (const [name, q] of this.queues) {
        const fn = this.table.fns.get(name);
        if (!q.length || !fn?.active) continue;
        const b = fn.active.info.batch;
        const ready = !b || q.length >= b.maxSize || now - q[0].at >= b.maxDelayMs;
        if (!ready) {
          this.arm(name, b!.maxDelayMs - (now - q[0].at));
          continue;
        }
        if (!best || q[0].at < best.q[0].at) best = { fn, q };
      }
      if (!best) return;
      this.dispatch(best.fn, best.q);
    }
  }

  private arm(name: string, ms: number): void {
    if (this.timers.has(name)) return;
    const fire = () => {
      this.timers.delete(name);
      this.pump();
    };
    this.timers.set(name, setTimeout(fire, Math.max(0, Math.ceil(ms))));
  }

  private dispatch(fn: FnState, q: Held[]): void {
    const v = fn.active!;
    const taken = q.splice(0, v.info.batch?.maxSize ?? 1);
    this.metrics.queueDepth.dec({ function: fn.name }, taken.length);
    const now = Date.now();
    const jobs: Held[] = [];
    for (const j of taken) {
      if (j.deadline && now > j.deadline) this.skip(j);
      else jobs.push(j);
    }
    if (!jobs.length) return;
    v.inflight++;
    this.metrics.batchSize.observe({ function: fn.name }, jobs.length);
    this.batches.count++;
    this.batches.items += jobs.length;
    this.batches.maxSize = Math.max(this.batches.maxSize, jobs.length);
    this.batches.sizes[jobs.length] = (this.batches.sizes[jobs.length] ?? 0) + 1;
    const items = jobs.map((j) => ({ id: j.callId, contentType: j.contentType, body: j.body }));
    const progress = (indices: number[], fraction: number, message: string | null) => {
      for (const i of indices) {
        const j = jobs[i];
        if (j) void this.stream.progress(j, { id: j.id, fraction, message }).catch((err) => this.logger.warn({ err: (err as Error).message, entry: j.entry }, 'could not send progress'));
      }
    };
    this.pool
      .run(v.key, items, progress, this.table.artifacts)
      .then(({ results, timings }) => {
        for (const [model, s] of timings) this.metrics.inference.observe({ function: fn.name, model }, s);
        jobs.forEach((j, i) => {
          const r = results[i];
          void this.answer(j, { id: j.id, status: r.status, contentType: r.contentType, body: Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength), code: r.code }, r.status < 400 ? 'ok' : 'error');
        });
      })
      .catch((err) => {
        const reply = failure(err instanceof RunnerError ? err : new WorkerFailedError((err as Error).message, err));
        for (const j of jobs) void this.answer(j, reply, 'error');
      })
      .finally(() => this.table.release(v));
  }

  /** The heartbeat, also GET /system/runner. */
  status(): RunnerStatus {
    const mem = process.memoryUsage();
    const models = this.pool.models();
    return {
      id: this.consumer,
      pid: process.pid,
      startedAt: this.startedAt,
      at: new Date().toISOString(),
      ep: this.opts.ep.ep,
      device: this.opts.ep.device,
      epReason: this.opts.ep.reason,
      workers: this.opts.workers,
      functions: [...this.table.fns.values()].map((f) => ({ name: f.name, version: f.active?.spec.version ?? 0, models: f.active?.info.models ?? [], batch: f.active?.info.batch ?? null, state: f.state + (f.error ? `: ${f.error}` : '') })),
      models,
      memory: { rssBytes: mem.rss, heapBytes: mem.heapUsed, modelBytes: models.reduce((n, m) => n + m.bytes, 0), budgetBytes: this.opts.budgetBytes },
      queue: { local: [...this.queues.values()].reduce((n, q) => n + q.length, 0), inFlight: this.held.size },
      batches: { ...this.batches, meanSize: this.batches.count ? this.batches.items / this.batches.count : 0 },
      jobs: { ...this.counts },
    };
  }

  private async heartbeat(): Promise<void> {
    // A runner that cannot read its jobs is not alive for the gateway: let the key expire.
    if (this.readPacer.failingFor() > this.opts.heartbeatMs * 3) return;
    await this.redis.set(this.stream.keys.heartbeat, JSON.stringify(this.status()), 'PX', this.opts.heartbeatMs * 3);
  }

  /** Stops reading, lets computing batches finish (bounded), and leaves unanswered jobs pending for the next runner. */
  async close(graceMs = 10_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const i of this.intervals) clearInterval(i);
    for (const t of this.timers.values()) clearTimeout(t);
    this.reader.disconnect();
    const deadline = Date.now() + graceMs;
    while ([...this.table.fns.values()].some((f) => (f.active?.inflight ?? 0) > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.redis.del(this.stream.keys.heartbeat).catch(() => {});
    await Promise.allSettled(this.loops);
    await this.pool.close();
  }
}
