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
  readonly restarts: Counter<'function_name'>;

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

  /** Invocations finished since the gateway started (OpenFaaS's `invocationCount`). */
  invocationCount(name: string): number {
    return this.series.get(name)?.count ?? 0;
  }
}
