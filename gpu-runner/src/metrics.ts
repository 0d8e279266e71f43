/** The runner's own Prometheus metrics, served at /metrics on its metrics port. */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class RunnerMetrics {
  readonly registry = new Registry();
  readonly queueDepth: Gauge<'function'>;
  readonly batchSize: Histogram<'function'>;
  readonly inference: Histogram<'function' | 'model'>;
  readonly jobs: Counter<'function' | 'status'>;
  readonly modelLoads: Counter<'model'>;
  readonly ep: Gauge<'ep' | 'device'>;
  private server: Server | null = null;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'spindle_gpu_runner_' });
    const registers = [this.registry];
    this.queueDepth = new Gauge({ name: 'spindle_gpu_queue_depth', help: 'Jobs held by the runner (queued locally or computing)', labelNames: ['function'], registers });
    this.batchSize = new Histogram({ name: 'spindle_gpu_batch_size', help: 'Jobs per batch', labelNames: ['function'], buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers });
    this.inference = new Histogram({
      name: 'spindle_gpu_inference_seconds',
      help: 'session.run time per batch',
      labelNames: ['function', 'model'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    });
    this.jobs = new Counter({ name: 'spindle_gpu_jobs_total', help: 'Jobs by outcome (ok, error, expired, dead, unknown)', labelNames: ['function', 'status'], registers });
    this.modelLoads = new Counter({ name: 'spindle_gpu_model_loads_total', help: 'Sessions created (a model evicted and needed again is loaded again)', labelNames: ['model'], registers });
    this.ep = new Gauge({ name: 'spindle_gpu_execution_provider', help: 'The execution provider the runner chose (1 on the chosen one): cuda or cpu, and its device', labelNames: ['ep', 'device'], registers });
  }

  /** Records the execution provider in use (one series at 1). */
  executionProvider(ep: string, device: string): void {
    this.ep.reset();
    this.ep.set({ ep, device }, 1);
  }

  /** Serves /metrics on `port` (0: any free port); resolves with the port. */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    this.server = createServer(async (req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': this.registry.contentType }).end(await this.registry.metrics());
    });
    return new Promise((resolve) => this.server!.listen(port, host, () => resolve((this.server!.address() as { port: number }).port)));
  }

  /** Stops the metrics server. */
  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
