/** The replicas of one function: rolling updates, crash restarts with backoff, start timeouts, scaling, least-in-flight picking. */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { backoffDelay, type Backoff } from '@spindle/schemas';
import type { FunctionSchemas, ProviderFunctionSpec } from './types.ts';
import type { Replica } from './replica.ts';

/** Builds a replica process for a spec (the provider supplies env, cwd and logging). */
export type ReplicaFactory = (spec: ProviderFunctionSpec, id: string) => Replica;

/** Waits between restarts of a replica that crashed or never got ready (the shared equal-jitter backoff). */
const RESTART_BACKOFF: Backoff = { minMs: 100, maxMs: 10_000 };
/** A replica that stayed ready this long resets the crash backoff. */
const HEALTHY_AFTER_MS = 10_000;
/** How long a replica may take to report ready before it is killed and restarted (`SPINDLE_START_TIMEOUT_MS`). */
const DEFAULT_START_TIMEOUT_MS = 30_000;

/**
 * One function's replica set. Emits `ready` whenever a replica becomes routable, `restart` when a
 * replica that crashed or never got ready is replaced.
 */
export class FunctionGroup extends EventEmitter {
  private current: Replica[] = [];
  /** Replicas of older versions, serving until the current version is ready (a rollout in progress). */
  private previous: Replica[] = [];
  /** Failures in a row per version (crashes and start timeouts), for the restart backoff. */
  private readonly failures = new Map<number, number>();
  private closed = false;
  /** Pending restarts and the version each will start, so a version waiting for one is still "running". */
  private readonly restartTimers = new Map<NodeJS.Timeout, number>();
  private readonly specOf = new WeakMap<Replica, ProviderFunctionSpec>();
  /** The schemas the current version's replicas reported at ready (kept while scaled to zero); null before one was ready. */
  schemas: FunctionSchemas | null = null;
  /** Old-version replicas that hold a serving slot during a stalled rollout: replaced when they die. */
  private readonly keepers = new WeakSet<Replica>();
  spec: ProviderFunctionSpec;

  constructor(
    spec: ProviderFunctionSpec,
    private readonly make: ReplicaFactory,
    private readonly drainMs: number,
    private readonly startTimeoutMs = DEFAULT_START_TIMEOUT_MS,
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
    this.failures.delete(spec.version);
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

  /** Versions that still have a replica (starting, serving or draining) or one about to be restarted. */
  runningVersions(): Set<number> {
    return new Set([...[...this.current, ...this.previous].map((r) => this.specOf.get(r)!.version), ...this.restartTimers.values()]);
  }

  /** Every replica, for diagnostics and tests. */
  replicas(): Replica[] {
    return [...this.current, ...this.previous];
  }

  /** Stops everything, letting in-flight requests finish within the drain period. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.restartTimers.keys()) clearTimeout(t);
    this.restartTimers.clear();
    await Promise.all([...this.current, ...this.previous].map((r) => r.stop(this.drainMs)));
    this.current = [];
    this.previous = [];
  }

  private grow(n: number): void {
    for (let i = 0; i < n; i++) this.launch();
  }

  /** Starts a replica of `spec` (the current version unless an old one is being kept alive). */
  private launch(spec: ProviderFunctionSpec = this.spec): Replica {
    const id = `${spec.name}-${spec.version}-${randomBytes(3).toString('hex')}`;
    const replica = this.make(spec, id);
    this.specOf.set(replica, spec);
    (spec.version === this.spec.version ? this.current : this.previous).push(replica);
    replica.on('ready', () => {
      if (spec.version === this.spec.version) this.schemas = replica.schemas;
      this.emit('ready');
      this.retireWhenReady();
    });
    replica.on('exit', (code: number | null, signal: string | null, wasStopped: boolean) => {
      this.current = this.current.filter((r) => r !== replica);
      this.previous = this.previous.filter((r) => r !== replica);
      if (wasStopped || this.closed) return;
      this.failed(replica, spec, code, signal);
    });
    replica.start(this.startTimeoutMs);
    return replica;
  }

  /** A replica crashed or never got ready: restart it with backoff if its version still needs it. */
  private failed(replica: Replica, spec: ProviderFunctionSpec, code: number | null, signal: string | null): void {
    const old = spec.version !== this.spec.version;
    // An old-version replica that was serving (or stood in for one that was) keeps its slot while the rollout is stalled.
    const keeper = old && (replica.readyAt !== null || this.keepers.has(replica));
    const what = replica.startTimedOut ? 'did not get ready in time' : `exited unexpectedly (${signal ? `signal ${signal}` : `code ${code}`})`;
    if (!this.wanted(spec, keeper)) {
      if (old && !replica.startTimedOut) replica.note(`replica of version ${spec.version} ${what}; version ${this.spec.version} serves instead`);
      return;
    }
    if (replica.readyAt !== null && Date.now() - replica.readyAt > HEALTHY_AFTER_MS) this.failures.set(spec.version, 0);
    const attempt = (this.failures.get(spec.version) ?? 0) + 1;
    this.failures.set(spec.version, attempt);
    const delay = backoffDelay(attempt, RESTART_BACKOFF);
    const why = old ? `version ${this.spec.version} is not ready yet, so a version ${spec.version} replica replaces it` : 'a new replica replaces it';
    replica.note(`replica ${what}; ${why} in ${delay} ms (failure ${attempt} in a row)`, replica.startTimedOut || attempt > 1 ? 'error' : 'warn');
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (this.closed || !this.wanted(spec, keeper)) return;
      this.emit('restart');
      const next = this.launch(spec.version === this.spec.version ? this.spec : spec);
      if (keeper) this.keepers.add(next);
    }, delay);
    this.restartTimers.set(timer, spec.version);
  }

  /**
   * Whether a replica of `spec` should be started again: the current version while it has fewer live
   * replicas than wanted; an old version only for a serving slot (`keeper`) while the current version
   * is not ready (a stalled rollout), so the function keeps answering.
   */
  private wanted(spec: ProviderFunctionSpec, keeper: boolean): boolean {
    if (spec.version === this.spec.version) return this.current.filter((r) => r.state !== 'draining').length < this.spec.replicas;
    return keeper && !this.rolledOut();
  }

  /** The current version has a ready replica for each one wanted (at least one). */
  private rolledOut(): boolean {
    return this.current.filter((r) => r.state === 'ready').length >= Math.max(1, this.spec.replicas);
  }

  private retire(replica: Replica): void {
    void replica.stop(this.drainMs);
  }

  /** Once the current version has a ready replica for each one wanted, the previous version drains. */
  private retireWhenReady(): void {
    if (this.previous.length === 0 || !this.rolledOut()) return;
    const old = this.previous;
    this.previous = [];
    for (const v of this.failures.keys()) if (v !== this.spec.version) this.failures.delete(v);
    for (const r of old) this.retire(r);
  }
}
