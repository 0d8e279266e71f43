/**
 * Which version of each function takes traffic. A deploy loads and warms the new version in every
 * worker first, then switches; the old version is unloaded once its in-flight batches end.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ArtifactsEndpoint, GpuFunctionSpec } from '@spindle/runtime';
import type { LoadedInfo } from './messages.ts';
import type { WorkerPool } from './pool.ts';

/** One loaded version. */
export interface Version {
  key: string;
  spec: GpuFunctionSpec;
  info: LoadedInfo;
  inflight: number;
  retired: boolean;
}

/** A function as the runner holds it. */
export interface FnState {
  name: string;
  active: Version | null;
  state: 'loading' | 'ready' | 'failed';
  error?: string;
  wanted: number;
}

export class FunctionTable {
  readonly fns = new Map<string, FnState>();
  /** Where handlers reach artifacts: the endpoint named by the newest spec read (see GpuFunctionSpec.artifacts). */
  artifacts: ArtifactsEndpoint | null = null;
  constructor(
    private readonly redis: Redis,
    private readonly functionsKey: string,
    private readonly pool: WorkerPool,
    private readonly logger: Logger,
    /** Called when a function becomes ready (its queued jobs can go) or fails. */
    private readonly onChange: (name: string) => void,
  ) {}

  /**
   * Loads every function in the functions hash (runner start, or after a reconnect). `keepMissing`
   * (reconnects): functions absent from the hash stay loaded, since a Redis that restarted empty has no
   * hash until a gateway publishes the specs again.
   */
  async syncAll(opts: { keepMissing?: boolean } = {}): Promise<void> {
    const all = await this.redis.hgetall(this.functionsKey);
    await Promise.all(Object.keys(all).map((name) => this.apply(name, all[name])));
    if (!opts.keepMissing) for (const name of this.fns.keys()) if (!(name in all)) this.remove(name);
  }

  /** Re-reads one function after a deploy notice. */
  async sync(name: string): Promise<void> {
    const raw = await this.redis.hget(this.functionsKey, name);
    if (raw === null) this.remove(name);
    else await this.apply(name, raw);
  }

  private async apply(name: string, raw: string): Promise<void> {
    const spec = JSON.parse(raw) as GpuFunctionSpec;
    // The newest endpoint wins, also from a re-published spec of a loaded version (a gateway restarted on a new port and token).
    if (spec.artifacts) this.artifacts = spec.artifacts;
    let fn = this.fns.get(name);
    if (fn && (fn.active?.spec.version ?? -1) >= spec.version && fn.state !== 'failed') return;
    if (fn && fn.wanted === spec.version && fn.state === 'loading') return;
    if (!fn) {
      fn = { name, active: null, state: 'loading', wanted: spec.version };
      this.fns.set(name, fn);
    }
    fn.wanted = spec.version;
    fn.state = 'loading';
    const key = `${name}@${spec.version}`;
    const started = performance.now();
    try {
      const info = await this.pool.load(key, spec);
      if (fn.wanted !== spec.version || this.fns.get(name) !== fn) {
        this.pool.unload(key, Object.keys(spec.models));
        return;
      }
      const old = fn.active;
      fn.active = { key, spec, info, inflight: 0, retired: false };
      fn.state = 'ready';
      fn.error = undefined;
      this.logger.info({ function: name, version: spec.version, ms: Math.round(performance.now() - started), batch: info.batch }, 'gpu function loaded');
      if (old) this.retire(old);
    } catch (err) {
      fn.error = (err as Error).message;
      fn.state = fn.active ? 'ready' : 'failed';
      this.logger.error({ function: name, version: spec.version, err: fn.error }, 'gpu function failed to load');
    }
    this.onChange(name);
  }

  /** Marks a version retired; it is unloaded now or when its last batch ends. */
  retire(v: Version): void {
    v.retired = true;
    if (v.inflight === 0) this.pool.unload(v.key, Object.keys(v.spec.models));
  }

  /** A batch of `v` ended. */
  release(v: Version): void {
    v.inflight--;
    if (v.retired && v.inflight === 0) this.pool.unload(v.key, Object.keys(v.spec.models));
  }

  private remove(name: string): void {
    const fn = this.fns.get(name);
    if (!fn) return;
    this.fns.delete(name);
    if (fn.active) this.retire(fn.active);
    this.logger.info({ function: name }, 'gpu function removed');
    this.onChange(name);
  }
}
