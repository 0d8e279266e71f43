/** Gateway metrics with OpenFaaS's names (function_name="NAME.openfaas-fn") plus spindle_* for the rest. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CallStats } from './stats/calls.ts';

/** Per-function metric children, looked up once per function rather than once per request. */
interface FunctionSeries {
  started: ReturnType<Counter<'function_name'>['labels']>;
  inflight: ReturnType<Gauge<'function_name'>['labels']>;
  byCode: Map<number, { total: ReturnType<Counter['labels']>; seconds: ReturnType<Histogram['labels']> }>;
  count: number;
  /** Calls in flight now, and their integral over time (call-milliseconds) up to `changedAt`: the autoscaler's load. */
  running: number;
  runningMs: number;
  changedAt: number;
}

/** A function's call counters at one moment; two of them give requests per second and mean calls in flight. */
export interface LoadSample {
  /** Calls finished since the gateway started. */
  finished: number;
  /** Calls in flight now. */
  inflight: number;
  /** Calls in flight integrated over time since the gateway started, in call-milliseconds. */
  inflightMs: number;
  /** `performance.now()` of the sample. */
  at: number;
}

/** One function's replica counts and scaling as `/metrics` reports them (read at scrape time). */
export interface ServiceRow {
  name: string;
  /** Replicas wanted (OpenFaaS's `replicas`). */
  replicas: number;
  /** Replicas ready to serve. */
  available: number;
  /** Scaling of functions that have replicas (GPU functions have none). */
  scaling?: { min: number; max: number; target: number; type: string; load: number | null };
}

/** Owns the gateway's prom-client registry (one per gateway, so tests can run several). */
export class GatewayMetrics {
  readonly registry = new Registry();
  /** Rolling per-function numbers for `GET /system/stats` (fed here, with the counters, by every finished call). */
  readonly calls = new CallStats();
  private readonly series = new Map<string, FunctionSeries>();
  private readonly invocations: Counter<'function_name' | 'code'>;
  private readonly seconds: Histogram<'function_name' | 'code'>;
  private readonly started: Counter<'function_name'>;
  private readonly inflight: Gauge<'function_name'>;
  private readonly restarts: Counter<'function_name'>;
  private readonly asyncRetries: Counter<'function_name'>;
  private readonly asyncDeadLetters: Counter<'function_name'>;
  private readonly asyncCallbackFailures: Counter<'function_name'>;
  /** Where `spindle_async_queue_depth` is read from at scrape time (set once the async queue exists). */
  asyncDepth: () => Promise<Array<{ name: string; depth: number }>> = async () => [];

  constructor(services: () => ServiceRow[]) {
    collectDefaultMetrics({ register: this.registry, prefix: 'spindle_gateway_' });
    const registers = [this.registry];
    this.invocations = new Counter({ name: 'gateway_function_invocation_total', help: 'Function invocations by status code', labelNames: ['function_name', 'code'], registers });
    this.seconds = new Histogram({
      name: 'gateway_functions_seconds',
      help: 'Function time taken',
      labelNames: ['function_name', 'code'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
    this.started = new Counter({ name: 'gateway_function_invocation_started', help: 'Function invocations started', labelNames: ['function_name'], registers });
    this.inflight = new Gauge({ name: 'spindle_function_inflight', help: 'Invocations in flight', labelNames: ['function_name'], registers });
    this.restarts = new Counter({ name: 'spindle_replica_restarts_total', help: 'Replicas restarted after an unexpected exit', labelNames: ['function_name'], registers });
    this.asyncRetries = new Counter({ name: 'spindle_async_retries_total', help: 'Async calls scheduled for a retry', labelNames: ['function_name'], registers });
    this.asyncDeadLetters = new Counter({ name: 'spindle_async_dead_letters_total', help: 'Async calls that failed for good (dead-lettered)', labelNames: ['function_name'], registers });
    this.asyncCallbackFailures = new Counter({ name: 'spindle_async_callback_failures_total', help: 'Async callbacks given up on', labelNames: ['function_name'], registers });
    const depth = () => this.asyncDepth();
    new Gauge({
      name: 'spindle_async_queue_depth',
      help: 'Async calls queued or running, per function',
      labelNames: ['function_name'],
      registers,
      async collect() {
        const rows = await depth();
        this.reset();
        for (const { name, depth: n } of rows) this.set({ function_name: `${name}.openfaas-fn` }, n);
      },
    });
    // OpenFaaS's names: gateway_service_count is the desired count (as OpenFaaS's exporter sets it from the
    // provider's `replicas`); the Pro gauges add ready replicas, min, max and target; gateway_service_target_load
    // carries the scaling type, as OpenFaaS Pro's recording rules read it. The measured load has no OpenFaaS
    // name (Pro computes it in Prometheus): spindle_function_load.
    const perService = (name: string, help: string, value: (row: ServiceRow) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: ['function_name'],
        registers,
        collect() {
          this.reset();
          for (const row of services()) {
            const v = value(row);
            if (v !== undefined) this.set({ function_name: `${row.name}.openfaas-fn` }, v);
          }
        },
      });
    perService('gateway_service_count', 'Current count of replicas for function (desired)', (r) => r.replicas);
    perService('gateway_service_ready_count', 'Replicas of the function ready to serve', (r) => r.available);
    perService('gateway_service_min', 'Minimum replicas of the function', (r) => r.scaling?.min);
    perService('gateway_service_max', 'Maximum replicas of the function', (r) => r.scaling?.max);
    perService('gateway_service_target', 'Target load per replica of the function', (r) => r.scaling?.target);
    for (const [name, help, value] of [
      ['gateway_service_target_load', 'Target load per replica, by scaling type', (r: ServiceRow) => r.scaling?.target],
      ['spindle_function_load', 'Load the autoscaler measured last, all replicas together, in the unit of the scaling type', (r: ServiceRow) => r.scaling?.load ?? undefined],
    ] as const) {
      new Gauge({
        name,
        help,
        labelNames: ['function_name', 'scaling_type'],
        registers,
        collect() {
          this.reset();
          for (const row of services()) {
            const v = value(row);
            if (v !== undefined && row.scaling) this.set({ function_name: `${row.name}.openfaas-fn`, scaling_type: row.scaling.type }, v);
          }
        },
      });
    }
  }

  private of(name: string): FunctionSeries {
    let s = this.series.get(name);
    if (!s) {
      const label = `${name}.openfaas-fn`;
      s = { started: this.started.labels(label), inflight: this.inflight.labels(label), byCode: new Map(), count: 0, running: 0, runningMs: 0, changedAt: performance.now() };
      this.series.set(name, s);
    }
    return s;
  }

  /** Counts an invocation that reached a known function. */
  start(name: string): void {
    const s = this.of(name);
    s.started.inc();
    s.inflight.inc();
    this.running(s, 1);
  }

  /** Moves the in-flight integral up to now, then changes the in-flight count by `delta`. */
  private running(s: FunctionSeries, delta: number): void {
    const now = performance.now();
    s.runningMs += s.running * (now - s.changedAt);
    s.changedAt = now;
    s.running += delta;
  }

  /** The call counters of `name` now (the autoscaler reads two and divides); cheap: no prom-client scrape. */
  load(name: string): LoadSample {
    const s = this.series.get(name);
    if (!s) return { finished: 0, inflight: 0, inflightMs: 0, at: performance.now() };
    this.running(s, 0);
    return { finished: s.count, inflight: s.running, inflightMs: s.runningMs, at: s.changedAt };
  }

  /** Records the end of an invocation started with `start`. */
  finish(name: string, code: number, seconds: number): void {
    const s = this.of(name);
    s.inflight.dec();
    this.running(s, -1);
    s.count++;
    let c = s.byCode.get(code);
    if (!c) {
      const labels = { function_name: `${name}.openfaas-fn`, code: String(code) };
      c = { total: this.invocations.labels(labels), seconds: this.seconds.labels(labels) };
      s.byCode.set(code, c);
    }
    c.total.inc();
    c.seconds.observe(seconds);
    this.calls.record(name, code, seconds);
  }

  /** Counts a replica replaced after it exited unexpectedly. */
  replicaRestarted(name: string): void {
    this.restarts.inc({ function_name: `${name}.openfaas-fn` });
  }

  /** Counts an async call put back for a retry. */
  asyncRetry(name: string): void {
    this.asyncRetries.inc({ function_name: `${name}.openfaas-fn` });
  }

  /** Counts an async call that failed for good. */
  asyncDeadLetter(name: string): void {
    this.asyncDeadLetters.inc({ function_name: `${name}.openfaas-fn` });
  }

  /** Counts an async callback given up on. */
  asyncCallbackFailed(name: string): void {
    this.asyncCallbackFailures.inc({ function_name: `${name}.openfaas-fn` });
  }

  /** Invocations finished since the gateway started (OpenFaaS's `invocationCount`). */
  invocationCount(name: string): number {
    return this.series.get(name)?.count ?? 0;
  }
}
