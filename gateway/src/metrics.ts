/** Gateway metrics with OpenFaaS's names (function_name="NAME.openfaas-fn") plus spindle_* for the rest. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Per-function metric children, looked up once per function rather than once per request. */
interface FunctionSeries {
  started: ReturnType<Counter<'function_name'>['labels']>;
  inflight: ReturnType<Gauge<'function_name'>['labels']>;
  byCode: Map<number, { total: ReturnType<Counter['labels']>; seconds: ReturnType<Histogram['labels']> }>;
  count: number;
}

/** Owns the gateway's prom-client registry (one per gateway, so tests can run several). */
export class GatewayMetrics {
  readonly registry = new Registry();
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

  constructor(serviceCounts: () => Array<{ name: string; replicas: number }>) {
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
    new Gauge({
      name: 'gateway_service_count',
      help: 'Current count of replicas for function',
      labelNames: ['function_name'],
      registers,
      collect() {
        this.reset();
        for (const { name, replicas } of serviceCounts()) this.set({ function_name: `${name}.openfaas-fn` }, replicas);
      },
    });
  }

  private of(name: string): FunctionSeries {
    let s = this.series.get(name);
    if (!s) {
      const label = `${name}.openfaas-fn`;
      s = { started: this.started.labels(label), inflight: this.inflight.labels(label), byCode: new Map(), count: 0 };
      this.series.set(name, s);
    }
    return s;
  }

  /** Counts an invocation that reached a known function. */
  start(name: string): void {
    const s = this.of(name);
    s.started.inc();
    s.inflight.inc();
  }

  /** Records the end of an invocation started with `start`. */
  finish(name: string, code: number, seconds: number): void {
    const s = this.of(name);
    s.inflight.dec();
    s.count++;
    let c = s.byCode.get(code);
    if (!c) {
      const labels = { function_name: `${name}.openfaas-fn`, code: String(code) };
      c = { total: this.invocations.labels(labels), seconds: this.seconds.labels(labels) };
      s.byCode.set(code, c);
    }
    c.total.inc();
    c.seconds.observe(seconds);
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
