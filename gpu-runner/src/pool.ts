/** The inference workers, seen from the runner's main thread: load/unload versions, run batches. */
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { ArtifactsEndpoint, GpuFunctionSpec } from '@spindle/runtime';
import { RunnerError, WorkerFailedError } from './errors.ts';
import type { ProgressSink } from './execute.ts';
import type { FromWorker, LoadedInfo, ToWorker, WorkItem, WorkResult } from './messages.ts';
import type { ModelInfo } from './model-cache.ts';

interface Slot {
  worker: Worker;
  busy: boolean;
  /** Its worker exited; a fresh slot replaces it after a backoff. */
  dead: boolean;
  pending: Map<number, { resolve(v: unknown): void; reject(e: Error): void; progress?: ProgressSink }>;
  models: ModelInfo[];
}

/**
 * A built runner (see build.ts) is compiled with this constant naming its built worker; from source it is
 * undeclared, and worker-boot.mjs registers tsx (worker threads do not inherit the parent's hooks on Node 20).
 */
declare const SPINDLE_RUNNER_WORKER_URL: string | undefined;
const WORKER_URL = typeof SPINDLE_RUNNER_WORKER_URL === 'string' ? new URL(SPINDLE_RUNNER_WORKER_URL) : new URL('./worker-boot.mjs', import.meta.url);

export interface PoolOptions {
  size: number;
  ep: 'cuda' | 'cpu';
  budgetBytes: number;
  threads: number;
  /** Workers release a model's sessions after this long unused (0 or absent: never). */
  idleReleaseMs?: number;
  onModelLoad?: (digest: string, seconds: number) => void;
  onWorkerExit?: (code: number) => void;
}

/** A fixed set of worker threads; every worker holds every loaded version (so any may take a batch). */
export class WorkerPool extends EventEmitter {
  private readonly slots: Slot[] = [];
  private seq = 0;
  private closed = false;
  private crashes = 0;
  private lastCrash = 0;
  /** Loaded versions, replayed into a worker that had to be restarted. */
  private readonly loaded = new Map<string, GpuFunctionSpec>();

  constructor(private readonly opts: PoolOptions) {
    super();
    for (let i = 0; i < opts.size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL);
    const slot: Slot = { worker, busy: false, dead: false, pending: new Map(), models: [] };
    worker.on('message', (m: FromWorker) => {
      if (m.t === 'models') {
        slot.models = m.models;
        if (m.loadSeconds) this.opts.onModelLoad?.(...m.loadSeconds);
        return;
      }
      if (m.t === 'progress') return void slot.pending.get(m.seq)?.progress?.(m.items, m.fraction, m.message);
      const p = slot.pending.get(m.seq);
      if (!p) return;
      slot.pending.delete(m.seq);
      // The worker's error, rebuilt on this side of the thread boundary with its code.
      if (m.t === 'failed') p.reject(new RunnerError(500, m.code, m.message));
      else p.resolve(m.t === 'loaded' ? m.info : m);
    });
    worker.on('error', () => {});
    worker.on('exit', (code) => {
      for (const p of slot.pending.values()) p.reject(new WorkerFailedError(`it exited with code ${code}`));
      slot.pending.clear();
      if (this.closed) return;
      this.opts.onWorkerExit?.(code);
      // Back off when workers keep dying (a broken install, a model that crashes on load).
      const now = Date.now();
      this.crashes = now - this.lastCrash < 10_000 ? this.crashes + 1 : 0;
      this.lastCrash = now;
      // Dead until replaced: run()'s finally must not mark it free, or the next batch would be posted
      // to a worker that no longer exists and never answer.
      slot.dead = true;
      slot.busy = true;
      setTimeout(() => {
        if (this.closed) return;
        const fresh = this.spawn();
        this.slots[this.slots.indexOf(slot)] = fresh;
        for (const [key, spec] of this.loaded) void this.call(fresh, { t: 'load', seq: ++this.seq, key, spec }).catch(() => {});
        this.emit('idle');
      }, Math.min(5000, 50 * 2 ** this.crashes)).unref();
    });
    worker.postMessage({ t: 'init', ep: this.opts.ep, budgetBytes: this.opts.budgetBytes, threads: this.opts.threads, idleReleaseMs: this.opts.idleReleaseMs ?? 0 } satisfies ToWorker);
    return slot;
  }

  private call<T>(slot: Slot, msg: ToWorker & { seq: number }, progress?: ProgressSink): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      slot.pending.set(msg.seq, { resolve: resolve as (v: unknown) => void, reject, progress });
      slot.worker.postMessage(msg);
    });
  }

  /** Loads (and warms) a version in every worker; rejects with the loader's message. */
  async load(key: string, spec: GpuFunctionSpec): Promise<LoadedInfo> {
    const infos = await Promise.all(this.slots.map((s) => this.call<LoadedInfo>(s, { t: 'load', seq: ++this.seq, key, spec })));
    this.loaded.set(key, spec);
    return infos[0];
  }

  /** Forgets a version; its sessions are released unless another version uses the same model. */
  unload(key: string, models: string[]): void {
    this.loaded.delete(key);
    for (const s of this.slots) s.worker.postMessage({ t: 'unload', key, models } satisfies ToWorker);
  }

  /** Workers free to take a batch now. */
  idle(): number {
    return this.slots.filter((s) => !s.busy && !s.dead).length;
  }

  /** Runs a batch on a free worker (the caller checks `idle()` first); `progress` hears the handler's `ctx.progress()`. */
  async run(key: string, items: WorkItem[], progress?: ProgressSink, artifacts: ArtifactsEndpoint | null = null): Promise<{ results: WorkResult[]; timings: Array<[string, number]> }> {
    const slot = this.slots.find((s) => !s.busy && !s.dead);
    if (!slot) throw new WorkerFailedError('no inference worker was idle');
    slot.busy = true;
    try {
      return await this.call(slot, { t: 'run', seq: ++this.seq, key, items, artifacts }, progress);
    } finally {
      if (!slot.dead) slot.busy = false;
      this.emit('idle');
    }
  }

  /** Models loaded in the first worker (every worker loads the same set). */
  models(): ModelInfo[] {
    return this.slots[0]?.models ?? [];
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
