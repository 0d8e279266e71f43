/** The two `AsyncInvoker`s: in the gateway through its `Invoker`, and from a standalone queue worker over HTTP. */
import { Agent, request } from 'undici';
import { SpindleError } from '../errors.ts';
import type { Invoker } from '../invoker.ts';
import type { AsyncInvokeRequest, AsyncInvoker, AsyncResult } from './types.ts';

/** The answer that stands in for a function that could not answer. */
export function errorResult(status: number, code: string, message: string, seconds: number, headers: Record<string, string> = {}): AsyncResult {
  return {
    status,
    headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
    body: Buffer.from(JSON.stringify({ error: { code, message } })),
    durationSeconds: seconds,
    error: message,
  };
}

function flatten(headers: Record<string, string | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Calls functions in-process (same replicas, metrics and timeouts as `/function/<name>`). */
export class LocalAsyncInvoker implements AsyncInvoker {
  constructor(private readonly invoker: Invoker) {}

  /** Invokes through the gateway's Invoker; its errors (404, 502, 503, 504) become results. */
  async invoke(req: AsyncInvokeRequest): Promise<AsyncResult> {
    const started = performance.now();
    try {
      const r = await this.invoker.invoke({ name: req.name, method: req.method, path: req.path, headers: flatten(req.headers), body: req.body, callId: req.callId, signal: req.signal });
      return { status: r.status, headers: r.headers, body: r.body, durationSeconds: r.durationSeconds };
    } catch (err) {
      if (req.signal.aborted || !(err instanceof SpindleError)) throw err;
      return errorResult(err.statusCode, err.code, err.message, (performance.now() - started) / 1000, err.headers);
    }
  }

  /** Nothing to close: the Invoker belongs to the platform. */
  async close(): Promise<void> {}
}

/** Calls functions through a gateway's `/function/<name>`: what a standalone `spindle queue-worker` uses. */
export class HttpAsyncInvoker implements AsyncInvoker {
  readonly #base: string;
  readonly #agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });
  #closed: Promise<void> | null = null;

  constructor(gatewayUrl: string) {
    this.#base = gatewayUrl.replace(/\/+$/, '');
  }

  /** POSTs (or whatever the caller used) to the gateway; a gateway that does not answer is a 503 (retried). */
  async invoke(req: AsyncInvokeRequest): Promise<AsyncResult> {
    const started = performance.now();
    const suffix = req.path === '/' ? '' : req.path.startsWith('/?') ? req.path.slice(1) : req.path;
    try {
      const res = await request(`${this.#base}/function/${encodeURIComponent(req.name)}${suffix}`, {
        method: req.method as 'POST',
        headers: { ...req.headers, 'x-call-id': req.callId },
        body: req.method === 'GET' || req.method === 'HEAD' ? null : req.body,
        signal: req.signal,
        dispatcher: this.#agent,
        // The gateway enforces the function's own timeout (504).
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      const body = Buffer.from(await res.body.arrayBuffer());
      return { status: res.statusCode, headers: res.headers, body, durationSeconds: (performance.now() - started) / 1000 };
    } catch (err) {
      if (req.signal.aborted) throw err;
      return errorResult(503, 'SPINDLE_GATEWAY_UNREACHABLE', `gateway ${this.#base} did not answer: ${(err as Error).message}`, (performance.now() - started) / 1000, { 'retry-after': '1' });
    }
  }

  /** Closes the connection pool. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#agent.close();
    return this.#closed;
  }
}
