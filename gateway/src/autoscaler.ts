/**
 * The autoscaler: OpenFaaS Pro's rules, in the gateway. Every turn (a second by default) it reads each
 * function's load from the call core's counters (requests per second, calls in flight) or its replicas'
 * CPU time (/proc), and sets the replica count:
 *
 *   desired = ceil(load / (target × target-proportion)), kept within [max(min, 1), max]
 *
 * Up at once; down only to the highest count recommended within the stabilisation window
 * (`com.openfaas.scale.down.window`, else the gateway's default), so a dip in load does not drop replicas
 * that the next burst needs. With `com.openfaas.scale.zero=true`, a function without a call for
 * `zero-duration` goes to zero replicas; the next call wakes it (the provider starts a replica and the call
 * waits for it). A function at zero is left there until a call comes, so a manual scale to zero holds.
 * Functions with min equal to max (static) are only brought back to that count after a wake, or to zero.
 */
import type { Logger } from 'pino';
import type { ScalingRules } from '@spindle/schemas';
import type { FunctionService, LiveFunction } from './functions.ts';
import type { GatewayMetrics, LoadSample } from './metrics.ts';

/** What one function's turns remember. */
export interface ScaleState {
  /** Recommended counts (and counts set from outside: scale-function, a wake from zero) within the window, oldest first. */
  history: Array<{ at: number; replicas: number }>;
  /** When the function last had a call in flight or finished one. */
  lastActiveAt: number;
  /** The count the autoscaler last saw or set; a different count now was set by someone else. */
  lastSeen: number | null;
}

/** One turn's inputs for one function. */
export interface TurnInput {
  rules: ScalingRules;
  /** Replicas wanted now. */
  current: number;
  /** Load over the last turn, all replicas together, in the unit of `rules.type`. */
  load: number;
  /** Whether a call was in flight or finished during the turn. */
  active: boolean;
  now: number;
  downWindowMs: number;
}

/** A fresh state for a function first seen (or redeployed) at `now`. */
export function freshState(now: number): ScaleState {
  return { history: [], lastActiveAt: now, lastSeen: null };
}

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

/**
 * Decides the replica count for one turn (pure apart from updating `state`). `recommended` is what the load
 * alone asks for; `desired` is what to set after the window and scale to zero.
 */
export function decide(input: TurnInput, state: ScaleState): { desired: number; recommended: number } {
  const { rules, current, now } = input;
  if (input.active) state.lastActiveAt = now;
  if (current !== state.lastSeen) {
    // Set from outside (or first seen): it counts as a recommendation, so a manual scale up holds for the window.
    state.history.push({ at: now, replicas: current });
    state.lastSeen = current;
  }
  const floor = Math.max(1, rules.min);
  const recommended = rules.min === rules.max ? floor : clamp(Math.ceil(input.load / (rules.target * rules.targetProportion)), floor, rules.max);
  state.history.push({ at: now, replicas: recommended });
  while (state.history.length > 0 && state.history[0].at < now - input.downWindowMs) state.history.shift();
  // At zero: only a call wakes the function (the provider starts a replica for it).
  if (current === 0) return { desired: 0, recommended };
  let desired = current;
  if (rules.min === rules.max) desired = floor;
  else if (recommended > current) desired = recommended;
  else {
    const held = clamp(Math.max(...state.history.map((h) => h.replicas)), floor, rules.max);
    if (held < current) desired = held;
  }
  if (rules.zero && !input.active && now - state.lastActiveAt >= rules.zeroDurationMs) desired = 0;
  return { desired, recommended };
}

export interface AutoscalerDeps {
  functions: FunctionService;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Time between turns. */
  intervalMs: number;
  /** Scale-down window of functions without `com.openfaas.scale.down.window`. */
  defaultDownWindowMs: number;
}

/** What the autoscaler keeps per function between turns. */
interface Tracked {
  version: number;
  state: ScaleState;
  sample: LoadSample;
  /** CPU seconds per replica id at the last turn (`cpu` type). */
  cpu: Map<string, number>;
  /** The load measured at the last turn, for `/metrics`. */
  load: number | null;
}

export class Autoscaler {
  private readonly tracked = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | null = null;
  private turn: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly deps: AutoscalerDeps) {}

  /** Starts the turns. */
  start(): void {
    if (this.closed || this.timer) return;
    const next = () => {
      this.timer = setTimeout(() => {
        this.turn = this.tick()
          .catch((err: unknown) => this.deps.logger.error({ err }, 'autoscaler turn failed'))
          .finally(() => {
            this.turn = null;
            if (!this.closed) next();
          });
      }, this.deps.intervalMs);
      this.timer.unref();
    };
    next();
  }

  /** The load measured at the last turn for `name` (null before its second turn, and for GPU functions). */
  lastLoad(name: string): number | null {
    return this.tracked.get(name)?.load ?? null;
  }

  /** One turn over every function with replicas. */
  async tick(): Promise<void> {
    const live = this.deps.functions.all().filter((f) => f.plane === 'control');
    const names = new Set(live.map((f) => f.record.name));
    for (const name of this.tracked.keys()) if (!names.has(name)) this.tracked.delete(name);
    // CPU readings first (they wait on /proc); the rest of the turn runs without a pause, so a call cannot
    // arrive between reading a function's load and scaling it.
    const cpu = new Map<string, Array<{ id: string; cpuSeconds: number }>>();
    await Promise.all(
      live
        .filter((f) => f.scaling.type === 'cpu' && f.provider.replicaCpu)
        .map(async (f) => cpu.set(f.record.name, await f.provider.replicaCpu!(f.record.name).catch(() => []))),
    );
    if (this.closed) return;
    for (const fn of live) this.turnOf(fn, cpu.get(fn.record.name) ?? []);
  }

  private turnOf(fn: LiveFunction, cpu: Array<{ id: string; cpuSeconds: number }>): void {
    const name = fn.record.name;
    const sample = this.deps.metrics.load(name);
    const t = this.tracked.get(name);
    if (!t || t.version !== fn.record.version) {
      // First turn of a function or a version: a baseline to measure the next turn against.
      this.tracked.set(name, { version: fn.record.version, state: freshState(sample.at), sample, cpu: new Map(cpu.map((c) => [c.id, c.cpuSeconds])), load: null });
      return;
    }
    const ms = sample.at - t.sample.at;
    if (ms <= 0) return;
    const load = this.measure(fn.scaling, t, sample, ms, cpu);
    const active = sample.finished > t.sample.finished || sample.inflight > 0 || sample.inflightMs > t.sample.inflightMs;
    t.sample = sample;
    t.load = load;
    const current = fn.provider.status(name)?.replicas ?? 0;
    const downWindowMs = fn.scaling.downWindowMs ?? this.deps.defaultDownWindowMs;
    const { desired, recommended } = decide({ rules: fn.scaling, current, load, active, now: sample.at, downWindowMs }, t.state);
    if (desired === current) return;
    this.deps.functions.autoscale(name, desired);
    t.state.lastSeen = desired;
    this.deps.logger.info({ function: name, from: current, to: desired, recommended, load: Math.round(load * 100) / 100, type: fn.scaling.type }, desired === 0 ? 'scaled to zero after idling' : 'autoscaled');
  }

  /** The function's load over the last `ms`, in the unit of its scaling type. */
  private measure(rules: ScalingRules, t: Tracked, sample: LoadSample, ms: number, cpu: Array<{ id: string; cpuSeconds: number }>): number {
    if (rules.type === 'rps') return ((sample.finished - t.sample.finished) * 1000) / ms;
    if (rules.type === 'capacity') return (sample.inflightMs - t.sample.inflightMs) / ms;
    // cpu: millicores used by the replicas alive at both turns (a new replica's start-up is not load).
    let seconds = 0;
    const now = new Map(cpu.map((c) => [c.id, c.cpuSeconds]));
    for (const [id, s] of now) {
      const before = t.cpu.get(id);
      if (before !== undefined) seconds += Math.max(0, s - before);
    }
    t.cpu = now;
    return (seconds * 1_000_000) / ms;
  }

  /** Stops the turns (the one under way finishes). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.turn;
  }
}
