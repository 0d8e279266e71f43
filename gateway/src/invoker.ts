/**
 * The gateway's own invoker: calls a function the way an HTTP caller would (same replicas, metrics,
 * timeouts and errors) but from inside the gateway, with the whole answer buffered. The async queue
 * worker and the graph executor use it; `/function/*` streams instead (routes/invoke.ts).
 */
import { randomUUID } from 'node:crypto';
import { errors as undiciErrors, type Dispatcher } from 'undici';
import { BadGatewayError, NotFoundError, SpindleError, TimeoutError } from './errors.ts';
import type { FunctionService } from './functions.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { Provider } from './provider/types.ts';
import type { GpuService } from './gpu/service.ts';

/** One call. `path` is what the function sees after `/function/<name>` (query included). */
export interface InvokeRequest {
  name: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: Buffer | Uint8Array | string;
  callId?: string;
  /** Aborts the call (cancelled runs, shutdown). */
  signal?: AbortSignal;
  /** Overrides the function's own timeout when shorter (graph nodes' `timeoutMs`). */
  timeoutMs?: number;
}

/** The function's answer, whatever its status: only failures to get one throw. */
export interface InvokeResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  callId: string;
  durationSeconds: number;
}

export interface InvokerDeps {
  functions: FunctionService;
  provider: Provider;
  metrics: GatewayMetrics;
  readyWaitMs: number;
  /** GPU functions go through the GPU stream (gpu/service.ts). */
  gpu?: GpuService;
}

export class Invoker {
  constructor(private readonly deps: InvokerDeps) {}

  /**
   * Calls `req.name` and returns its answer. Throws NotFoundError (unknown function), UnavailableError
   * (no ready replica), TimeoutError (past the timeout) or BadGatewayError (the replica failed).
   */
  async invoke(req: InvokeRequest): Promise<InvokeResult> {
    const fn = this.deps.functions.lookup(req.name);
    if (!fn) throw this.deps.functions.notLive(req.name);
    const timeoutMs = Math.min(fn.timeoutMs, req.timeoutMs ?? Infinity);
    const callId = req.callId ?? randomUUID();
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    this.deps.metrics.start(req.name);
    let lease: Awaited<ReturnType<Provider['acquire']>> = null;
    let status = 500;
    // Our own deadline (undici's timeouts are coarse, and a graph node's timeoutMs may be short): one
    // controller, its timer cleared and the caller's listener removed when the call ends.
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => ((timedOut = true), ac.abort()), timeoutMs);
    const onAbort = () => ac.abort(req.signal?.reason);
    if (req.signal?.aborted) onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const signal = ac.signal;
    try {
      if (fn.gpu && this.deps.gpu) {
        const body = req.body === undefined ? Buffer.alloc(0) : Buffer.from(req.body);
        const contentType = req.headers?.['content-type'] ?? 'application/octet-stream';
        const r = await this.deps.gpu.call({ name: req.name, callId, contentType, body, timeoutMs, queueLimit: fn.gpu.queueLimit, signal });
        status = r.status;
        return { status, headers: { 'content-type': r.contentType }, body: r.body, callId, durationSeconds: seconds() };
      }
      lease = await this.deps.provider.acquire(req.name, this.deps.readyWaitMs);
      if (!lease) throw new NotFoundError(`function "${req.name}" is not deployed`);
      const body = req.body === undefined ? null : typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
      const res = await lease.dispatcher.request({
        origin: 'http://replica',
        path: req.path ?? '/',
        method: (req.method ?? 'POST') as Dispatcher.HttpMethod,
        headers: { ...req.headers, 'x-call-id': callId, 'x-start-time': String(BigInt(Date.now()) * 1_000_000n) },
        body,
        signal,
      });
      const bytes = Buffer.from(await res.body.arrayBuffer());
      status = res.statusCode;
      return { status, headers: res.headers, body: bytes, callId, durationSeconds: seconds() };
    } catch (err) {
      const e = timedOut
        ? new TimeoutError(`function ${req.name} did not answer within its timeout of ${timeoutMs} ms`)
        : this.asError(err, req.name, timeoutMs, lease?.replicaId ?? '');
      status = e.statusCode;
      throw e;
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      lease?.release();
      this.deps.metrics.finish(req.name, status, seconds());
    }
  }

  private asError(err: unknown, name: string, timeoutMs: number, replicaId: string): SpindleError {
    if (err instanceof SpindleError) return err;
    if (err instanceof undiciErrors.RequestAbortedError || (err as Error).name === 'AbortError') {
      return new SpindleError(499, 'SPINDLE_CANCELLED', `call to ${name} was cancelled`, { cause: err });
    }
    return new BadGatewayError(`replica ${replicaId} of function ${name} failed while handling the request: ${(err as Error).message}`, err);
  }
}
