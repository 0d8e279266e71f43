/** The replicas of one function: rolling updates, crash restarts with backoff, scaling, least-in-flight picking. */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ProviderFunctionSpec } from './types.ts';
import type { Replica } from './replica.ts';

/** Builds a replica process for a spec (the provider supplies env, cwd and logging). */
export type ReplicaFactory = (spec: ProviderFunctionSpec, id: string) => Replica;

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 10_000;
/** A replica that stayed up this long resets the crash backoff. */
const HEALTHY_AFTER_MS = 10_000;

/** One function's replica set. Emits `ready` whenever a replica becomes routable, `restart` when a crashed one is replaced. */
export class FunctionGroup extends EventEmitter {
  private current: Replica[] = [];
  private previous: Replica[] = [];
  private crashes = 0;
  private closed = false;
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readonly versionOf = new WeakMap<Replica, number>();
  spec: ProviderFunctionSpec;

  constructor(
    spec: ProviderFunctionSpec,
    private readonly make: ReplicaFactory,
    private readonly drainMs: number,
  ) {
    super();
    this.setMaxListeners(0);
    this.spec = spec;
    this.grow(spec.replicas);
  }

  /** Rolling update: new replicas start; old ones keep serving until every new one is ready, then drain. */
  update(spec: ProviderFunctionSpec): void {
    this.previous.push(...this.current);
    this.current = [];
    this.spec = spec;
    this.crashes = 0;
    this.grow(Math.max(spec.replicas, this.previous.length > 0 ? 1 : 0));
    this.retireWhenReady();
  }

  /** Sets the desired replica count of the current version. */
  scale(replicas: number): void {
    this.spec = { ...this.spec, replicas };
    const live = this.current.filter((r) => r.state !== 'stopped' && r.state !== 'draining');
    if (live.length < replicas) this.grow(replicas - live.length);
    else {
      // Drain the least busy first so in-flight work is disturbed as little as possible.
      const extra = live.sort((a, b) => a.inflight - b.inflight).slice(0, live.length - replicas);
      for (const r of extra) this.retire(r);
    }
  }

  /** The routable replica with the fewest requests in flight, or null. */
  pick(): Replica | null {
    let best: Replica | null = null;
    for (const list of [this.current, this.previous]) {
      for (const r of list) if (r.state === 'ready' && (!best || r.inflight < best.inflight)) best = r;
      if (best) return best;
    }
    return null;
  }

  /** Waits up to `ms` for a routable replica; scales up from zero if needed. */
  async waitReady(ms: number): Promise<Replica | null> {
    const now = this.pick();
    if (now) return now;
    if (this.spec.replicas === 0 && !this.current.some((r) => r.state === 'starting')) this.scale(1);
    return new Promise((resolve) => {
      const done = () => {
        const r = this.pick();
        if (!r) return;
        clearTimeout(timer);
        this.off('ready', done);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.off('ready', done);
        resolve(this.pick());
      }, ms);
      this.on('ready', done);
    });
  }

  /** `replicas` asked for and `availableReplicas` ready, as OpenFaaS reports them. */
  status(): { replicas: number; availableReplicas: number } {
    const ready = [...this.current, ...this.previous].filter((r) => r.state === 'ready').length;
    return { replicas: this.spec.replicas, availableReplicas: ready };
  }

  /** Versions that still have a replica (starting, serving or draining). */
  runningVersions(): Set<number> {
    return new Set([...this.current, ...this.previous].map((r) => this.versionOf.get(r)!));
  }

  /** Every replica, for diagnostics and tests. */
  replicas(): Replica[] {
    return [...this.current, ...this.previous];
  }

  /** Stops everything, letting in-flight requests finish within the drain period. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.restartTimers) clearTimeout(t);
    await Promise.all([...this.current, ...this.previous].map((r) => r.stop(this.drainMs)));
    this.current = [];
    this.previous = [];
  }

  private grow(n: number): void {
    for (let i = 0; i < n; i++) this.launch();
  }

  private launch(): Replica {
    const id = `${this.spec.name}-${this.spec.version}-${randomBytes(3).toString('hex')}`;
    const replica = this.make(this.spec, id);
    const version = this.spec.version;
    this.versionOf.set(replica, version);
    this.current.push(replica);
    replica.on('ready', () => {
      this.emit('ready');
      this.retireWhenReady();
    });
    replica.on('exit', (_code: number | null, _signal: string | null, wasStopped: boolean) => {
      this.current = this.current.filter((r) => r !== replica);
      this.previous = this.previous.filter((r) => r !== replica);
      if (wasStopped || this.closed || version !== this.spec.version) return;
      // An unexpected exit: restart with exponential backoff, reset once a replica stays healthy.
      if (Date.now() - replica.startedAt > HEALTHY_AFTER_MS) this.crashes = 0;
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.crashes++);
      const live = this.current.filter((r) => r.state !== 'draining').length;
      if (live >= this.spec.replicas) return;
      const timer = setTimeout(() => {
        this.restartTimers.delete(timer);
        if (this.closed || version !== this.spec.version) return;
        const stillLive = this.current.filter((r) => r.state !== 'draining').length;
        if (stillLive < this.spec.replicas) {
          this.emit('restart');
          this.launch();
        }
      }, delay);
      this.restartTimers.add(timer);
    });
    replica.start();
    return replica;
  }

  private retire(replica: Replica): void {
    void replica.stop(this.drainMs);
  }

  /** Once the current version has a ready replica for each one wanted, the previous version drains. */
  private retireWhenReady(): void {
    if (this.previous.length === 0) return;
    const ready = this.current.filter((r) => r.state === 'ready').length;
    if (ready < Math.max(1, this.spec.replicas)) return;
    const old = this.previous;
    this.previous = [];
    for (const r of old) this.retire(r);
  }
}
