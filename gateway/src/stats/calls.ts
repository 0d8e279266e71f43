/**
 * The gateway's own rolling call numbers, for `GET /system/stats` when no Prometheus is configured: per
 * function, two rings of time buckets (10 s for the last hour, 1 min for the last day), each bucket holding
 * its call count, error count and a DDSketch of latencies (@datadog/sketches-js, 2% relative accuracy).
 * Memory is bounded: a bucket is reused when its ring comes round, a sketch is made only for a bucket that
 * saw a call and holds at most 512 bins, and at most MAX_FUNCTIONS functions are tracked.
 */
import { LogCollapsingLowestDenseDDSketch as Sketch } from '@datadog/sketches-js';

/** Bucket width (s) and count of each ring: 10 s × 360 = 1 h, 60 s × 1440 = 24 h. */
const RINGS = [
  { res: 10, size: 360 },
  { res: 60, size: 1440 },
] as const;
/** Functions tracked at most (a removed function's numbers stay until the gateway restarts). */
const MAX_FUNCTIONS = 1000;
const sketch = () => new Sketch({ relativeAccuracy: 0.02, binLimit: 512 });

/** Errors are answers of 400 and above (a caller that left, 499, counts too), as the Prometheus queries count them. */
export const isError = (status: number) => status >= 400;

interface Bucket {
  /** Start of the bucket, unix seconds. */
  start: number;
  count: number;
  errors: number;
  latency: Sketch | null;
}

class Ring {
  readonly buckets: Array<Bucket | undefined>;
  constructor(
    readonly res: number,
    readonly size: number,
  ) {
    this.buckets = new Array(size);
  }

  record(nowSec: number, error: boolean, ms: number): void {
    const start = Math.floor(nowSec / this.res) * this.res;
    const i = (start / this.res) % this.size;
    let b = this.buckets[i];
    if (!b || b.start !== start) {
      b = { start, count: 0, errors: 0, latency: null };
      this.buckets[i] = b;
    }
    b.count++;
    if (error) b.errors++;
    if (!b.latency) b.latency = sketch();
    b.latency.accept(ms);
  }

  /** The bucket that starts at `start`, if it still holds that time. */
  at(start: number): Bucket | undefined {
    const b = this.buckets[(start / this.res) % this.size];
    return b && b.start === start ? b : undefined;
  }
}

/** One series of points: per-second rate, share of errors, p50 and p99 (ms, null without calls). */
export interface Series {
  rate: number[];
  errorRate: number[];
  p50: Array<number | null>;
  p99: Array<number | null>;
}

/** A function's numbers over the window, and its series. */
export interface FunctionStats {
  invocations: number;
  success: number;
  errors: number;
  p50: number | null;
  p99: number | null;
  rate: number[];
  errorRate: number[];
  p50s: Array<number | null>;
  p99s: Array<number | null>;
}

/** What `GET /system/stats` answers. */
export interface StatsAnswer {
  window: number;
  step: number;
  source: 'gateway' | 'prometheus';
  t: number[];
  total: Series;
  functions: Record<string, FunctionStats>;
  warning?: string;
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;
const quantile = (s: Sketch | null, q: number) => (s && s.count > 0 ? round(s.getValueAtQuantile(q)) : null);

/** Rolling call numbers of every function, fed by GatewayMetrics.finish (the call core's one record of a call). */
export class CallStats {
  readonly #functions = new Map<string, Ring[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records one finished call. Hot path: a few array writes and a sketch insert. */
  record(name: string, status: number, seconds: number): void {
    let rings = this.#functions.get(name);
    if (!rings) {
      if (this.#functions.size >= MAX_FUNCTIONS) return;
      rings = RINGS.map((r) => new Ring(r.res, r.size));
      this.#functions.set(name, rings);
    }
    const nowSec = this.now() / 1000;
    const error = isError(status);
    const ms = seconds * 1000;
    for (const ring of rings) ring.record(nowSec, error, ms);
  }

  /** The effective step for a window: the finest ring that covers the window decides the smallest step. */
  static stepFor(window: number, step: number): number {
    const ring = RINGS.find((r) => r.res * r.size >= window) ?? RINGS[RINGS.length - 1];
    return Math.ceil(step / ring.res) * ring.res;
  }

  /** Points of `step` seconds over the last `window` seconds, oldest first, from the finest ring that covers it. */
  query(window: number, requestedStep: number): StatsAnswer {
    const ringIndex = Math.max(
      0,
      RINGS.findIndex((r) => r.res * r.size >= window),
    );
    const res = RINGS[ringIndex].res;
    const step = CallStats.stepFor(window, requestedStep);
    const nowSec = this.now() / 1000;
    const last = Math.floor(nowSec / step) * step;
    const points = Math.max(1, Math.floor(window / step));
    const t = Array.from({ length: points }, (_, k) => last - (points - 1 - k) * step);
    // The newest point is still filling: its rate is over the seconds that have passed.
    const seconds = t.map((start) => Math.max(1, Math.min(step, nowSec - start)));
    const total: Series = { rate: [], errorRate: [], p50: [], p99: [] };
    const totals = t.map(() => ({ count: 0, errors: 0, latency: null as Sketch | null }));
    const functions: Record<string, FunctionStats> = {};
    for (const [name, rings] of [...this.#functions].sort(([a], [b]) => a.localeCompare(b))) {
      const ring = rings[ringIndex];
      const f: FunctionStats = { invocations: 0, success: 0, errors: 0, p50: null, p99: null, rate: [], errorRate: [], p50s: [], p99s: [] };
      const whole = sketch();
      t.forEach((start, k) => {
        let count = 0;
        let errors = 0;
        // Sketches are made only for points that saw calls: most points of most functions are empty.
        let latency: Sketch | null = null;
        for (let s = start; s < start + step; s += res) {
          const b = ring.at(s);
          if (!b?.latency) continue;
          count += b.count;
          errors += b.errors;
          if (!latency) latency = sketch();
          latency.merge(b.latency);
        }
        f.invocations += count;
        f.errors += errors;
        f.rate.push(round(count / seconds[k]));
        f.errorRate.push(count ? round(errors / count, 4) : 0);
        f.p50s.push(quantile(latency, 0.5));
        f.p99s.push(quantile(latency, 0.99));
        if (latency) {
          whole.merge(latency);
          totals[k].count += count;
          totals[k].errors += errors;
          if (!totals[k].latency) totals[k].latency = sketch();
          totals[k].latency.merge(latency);
        }
      });
      if (f.invocations === 0) continue;
      f.success = f.invocations - f.errors;
      f.p50 = quantile(whole, 0.5);
      f.p99 = quantile(whole, 0.99);
      functions[name] = f;
    }
    totals.forEach((p, k) => {
      total.rate.push(round(p.count / seconds[k]));
      total.errorRate.push(p.count ? round(p.errors / p.count, 4) : 0);
      total.p50.push(quantile(p.latency, 0.5));
      total.p99.push(quantile(p.latency, 0.99));
    });
    return { window, step, source: 'gateway', t, total, functions };
  }
}
