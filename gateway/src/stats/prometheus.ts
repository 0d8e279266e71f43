/**
 * `GET /system/stats` from Prometheus (PROMETHEUS_URL): range queries over the gateway's own metric names,
 * `gateway_function_invocation_total` and `gateway_functions_seconds`, summed over every gateway Prometheus
 * scrapes, in the same shape as the embedded numbers (stats/calls.ts). Errors are codes of 400 and above.
 */
import type { FunctionStats, Series, StatsAnswer } from './calls.ts';

/** How long one Prometheus query may take before the embedded numbers answer instead. */
const QUERY_TIMEOUT_MS = 5000;

interface Sample {
  metric: Record<string, string>;
  values?: Array<[number, string]>;
  value?: [number, string];
}

/** Reads Prometheus's HTTP API (`/api/v1/query_range`, `/api/v1/query`). */
export class PrometheusStats {
  /** The URL without credentials (also what messages show). */
  readonly shown: string;
  /** Basic credentials from the URL's user info, sent as a header (fetch refuses them in the URL). */
  readonly #authorization: string | undefined;

  constructor(url: string) {
    const u = new URL(url);
    this.#authorization = u.username || u.password ? `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}` : undefined;
    u.username = '';
    u.password = '';
    this.shown = u.toString().replace(/\/+$/, '');
  }

  async #query(path: string, params: Record<string, string | number>): Promise<Sample[]> {
    const qs = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
    const headers: Record<string, string> = this.#authorization ? { authorization: this.#authorization } : {};
    const res = await fetch(`${this.shown}${path}?${qs}`, { headers, signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) });
    const body = (await res.json().catch(() => null)) as { status?: string; error?: string; data?: { result?: Sample[] } } | null;
    if (!res.ok || body?.status !== 'success') throw new Error(`${path} answered ${res.status}${body?.error ? `: ${body.error}` : ''}`);
    return body.data?.result ?? [];
  }

  /** The stats of the last `window` seconds in points of `step` seconds. Throws when Prometheus fails. */
  async query(window: number, step: number, nowMs = Date.now()): Promise<StatsAnswer> {
    const end = Math.floor(nowMs / 1000 / step) * step;
    const start = end - (Math.max(1, Math.floor(window / step)) - 1) * step;
    // At least a minute, so a rate holds two scrapes at Prometheus's default 15 s interval.
    const r = `${Math.max(2 * step, 60)}s`;
    const inv = 'gateway_function_invocation_total';
    const err = `${inv}{code=~"[4-9].."}`;
    const buckets = `rate(gateway_functions_seconds_bucket[${r}])`;
    const range = (query: string) => this.#query('/api/v1/query_range', { query, start, end, step });
    const instant = (query: string) => this.#query('/api/v1/query', { query, time: end });
    const w = `${window}s`;
    const [rate, errRate, p50, p99, fRate, fErr, fP50, fP99, count, errors, wP50, wP99] = await Promise.all([
      range(`sum(rate(${inv}[${r}]))`),
      range(`sum(rate(${err}[${r}])) / sum(rate(${inv}[${r}]))`),
      range(`histogram_quantile(0.5, sum by (le) (${buckets})) * 1000`),
      range(`histogram_quantile(0.99, sum by (le) (${buckets})) * 1000`),
      range(`sum by (function_name) (rate(${inv}[${r}]))`),
      range(`sum by (function_name) (rate(${err}[${r}])) / sum by (function_name) (rate(${inv}[${r}]))`),
      range(`histogram_quantile(0.5, sum by (le, function_name) (${buckets})) * 1000`),
      range(`histogram_quantile(0.99, sum by (le, function_name) (${buckets})) * 1000`),
      instant(`sum by (function_name) (increase(${inv}[${w}]))`),
      instant(`sum by (function_name) (increase(${err}[${w}]))`),
      instant(`histogram_quantile(0.5, sum by (le, function_name) (rate(gateway_functions_seconds_bucket[${w}]))) * 1000`),
      instant(`histogram_quantile(0.99, sum by (le, function_name) (rate(gateway_functions_seconds_bucket[${w}]))) * 1000`),
    ]);
    const t = Array.from({ length: (end - start) / step + 1 }, (_, k) => start + k * step);
    const align = (samples: Sample[], fill: number | null) => {
      const at = new Map((samples[0]?.values ?? []).map(([ts, v]) => [Math.round(ts), v]));
      return t.map((ts) => num(at.get(ts)) ?? fill);
    };
    const byFunction = (samples: Sample[]) => new Map(samples.map((s) => [fnName(s.metric.function_name), s]));
    const total: Series = { rate: align(rate, 0) as number[], errorRate: align(errRate, 0) as number[], p50: align(p50, null), p99: align(p99, null) };
    const maps = { fRate: byFunction(fRate), fErr: byFunction(fErr), fP50: byFunction(fP50), fP99: byFunction(fP99), count: byFunction(count), errors: byFunction(errors), wP50: byFunction(wP50), wP99: byFunction(wP99) };
    const functions: Record<string, FunctionStats> = {};
    for (const [name, s] of [...maps.count].sort(([a], [b]) => a.localeCompare(b))) {
      const invocations = Math.round(num(s.value?.[1]) ?? 0);
      if (invocations === 0 && !maps.fRate.has(name)) continue;
      const errorsN = Math.min(invocations, Math.round(num(maps.errors.get(name)?.value?.[1]) ?? 0));
      const series = (m: Map<string, Sample>, fill: number | null) => align(m.has(name) ? [m.get(name)!] : [], fill);
      functions[name] = {
        invocations,
        success: invocations - errorsN,
        errors: errorsN,
        p50: num(maps.wP50.get(name)?.value?.[1]),
        p99: num(maps.wP99.get(name)?.value?.[1]),
        rate: series(maps.fRate, 0) as number[],
        errorRate: series(maps.fErr, 0) as number[],
        p50s: series(maps.fP50, null),
        p99s: series(maps.fP99, null),
      };
    }
    return { window, step, source: 'prometheus', t, total, functions };
  }
}

/** `NAME.openfaas-fn` → `NAME`. */
const fnName = (label: string | undefined) => (label ?? '').replace(/\.openfaas-fn$/, '');

/** A Prometheus sample value as a number rounded to 3 digits; null for NaN, ±Inf or nothing. */
function num(v: string | undefined): number | null {
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? Math.round(n * 1000) / 1000 : null;
}
