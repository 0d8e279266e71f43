/** Load and latency measurement: autocannon at a given concurrency, and a sequential keep-alive loop timed per request. */
import autocannon, { type Result } from 'autocannon';
import { Client } from 'undici';

/** One request shape, reused by every run so targets are compared on the same work. */
export interface RequestSpec {
  /** Full URL, path included. */
  url: string;
  body: string;
  headers: Record<string, string>;
}

export interface LoadResult {
  connections: number;
  /** 2xx answers per second. */
  rps: number;
  /** Latency percentiles in ms, with decimals (from every response's own timing, not autocannon's integer histogram). */
  p50: number;
  p99: number;
  requests: number;
  /** Errors, timeouts and non-2xx answers. */
  failures: number;
}

export interface LatencyStats {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function stats(samples: number[]): LatencyStats {
  const sorted = Float64Array.from(samples).sort();
  const sum = samples.reduce((a, b) => a + b, 0);
  return { n: samples.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), mean: sum / samples.length };
}

interface RawRun {
  latencies: number[];
  seconds: number;
  failures: number;
}

async function autocannonRun(spec: RequestSpec, connections: number, durationS: number): Promise<RawRun> {
  const latencies: number[] = [];
  const result = await new Promise<Result>((resolve, reject) => {
    const instance = autocannon(
      { url: spec.url, method: 'POST', body: spec.body, headers: spec.headers, connections, pipelining: 1, duration: durationS, timeout: 10 },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    // autocannon's own histogram keeps whole milliseconds; each response's timing is a float.
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
  return { latencies, seconds: result.duration, failures: result.errors + result.timeouts + result.non2xx };
}

/** Runs autocannon (POST, no pipelining) with `connections` connections against one target for `durationS` seconds. */
export async function runLoad(spec: RequestSpec, connections: number, durationS: number): Promise<LoadResult> {
  return (await interleavedLoad({ only: spec }, connections, 1, durationS)).only;
}

/**
 * Loads every target in `turns` turns of `turnS` seconds, taken in alternating order, so a slow spell on a
 * shared machine lands on every target rather than on whichever ran then. autocannon stops on whole-second
 * ticks, so `turnS` should be a whole number.
 */
export async function interleavedLoad(specs: Record<string, RequestSpec>, connections: number, turns: number, turnS: number): Promise<Record<string, LoadResult>> {
  const names = Object.keys(specs);
  const runs = new Map<string, RawRun[]>(names.map((n) => [n, []]));
  for (let r = 0; r < turns; r++) {
    for (const name of r % 2 ? [...names].reverse() : names) runs.get(name)!.push(await autocannonRun(specs[name], connections, turnS));
  }
  return Object.fromEntries(
    names.map((name) => {
      const all = runs.get(name)!;
      const latencies = all.flatMap((x) => x.latencies);
      const seconds = all.reduce((a, x) => a + x.seconds, 0);
      const s = stats(latencies);
      return [name, { connections, rps: latencies.length / seconds, p50: s.p50, p99: s.p99, requests: latencies.length, failures: all.reduce((a, x) => a + x.failures, 0) }];
    }),
  );
}

async function once(client: Client, path: string, spec: RequestSpec): Promise<void> {
  const res = await client.request({ path, method: 'POST', headers: spec.headers, body: spec.body });
  await res.body.arrayBuffer();
  if (res.statusCode !== 200) throw new Error(`${spec.url} answered ${res.statusCode}`);
}

/**
 * Times sequential requests, one keep-alive connection per target, with `process.hrtime.bigint()`. Targets
 * take turns for `rounds` rounds of `roundMs` each, so drift on a shared machine hits them all alike.
 */
export async function sequentialLatency(specs: Record<string, RequestSpec>, rounds: number, roundMs: number, warmup = 300): Promise<Record<string, LatencyStats>> {
  const names = Object.keys(specs);
  const conns = names.map((name) => {
    const url = new URL(specs[name].url);
    return { name, spec: specs[name], path: url.pathname + url.search, client: new Client(url.origin, { pipelining: 1 }), samples: [] as number[] };
  });
  try {
    for (const c of conns) for (let i = 0; i < warmup; i++) await once(c.client, c.path, c.spec);
    for (let r = 0; r < rounds; r++) {
      for (const c of r % 2 ? [...conns].reverse() : conns) {
        const until = performance.now() + roundMs;
        while (performance.now() < until) {
          const t0 = process.hrtime.bigint();
          await once(c.client, c.path, c.spec);
          c.samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      }
    }
  } finally {
    await Promise.all(conns.map((c) => c.client.close()));
  }
  return Object.fromEntries(conns.map((c) => [c.name, stats(c.samples)]));
}
