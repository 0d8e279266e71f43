/**
 * The one call core: every invocation (the HTTP route, the async queue worker, the graph executor) goes
 * through here. It makes the call id and start time, counts the call in the metrics, picks the function's
 * provider (local replicas, the GPU runner, ...) and turns every failure into a catalogue error.
 * Two modes: `serve` streams a caller's request and the answer (the `/function/*` route), `invoke`
 * buffers both (callers inside the gateway).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, Writable } from 'node:stream';
import { callerLeft } from './caller.ts';
import { BadGatewayError, ClientClosedError, PayloadTooLargeError, SpindleError, TimeoutError } from './errors.ts';
import type { FunctionService, LiveFunction } from './functions.ts';
import { HOP_HEADERS, passOnHeaders } from './http-headers.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { ProviderCall } from './provider/types.ts';
import { writeError } from './render.ts';

/** One buffered call. `path` is what the function sees after `/function/<name>` (query included). */
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
  metrics: GatewayMetrics;
  /** How long a call waits for a replica that is still starting before it gets a 503. */
  readyWaitMs: number;
  /** Largest streamed request body (413 past it). */
  maxBodyBytes: number;
}

/** Where invocation failures are logged (pino or fastify's logger). */
export type CallLogger = { warn(obj: object, msg?: string): void; debug(obj: object, msg?: string): void };

/** Counts bytes of a body without a Content-Length and fails with 413 past the limit. */
function limited(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      cb(seen > limit ? new PayloadTooLargeError(limit) : null, chunk);
    },
  });
}

/** Collects an answer's body (buffered mode). */
class Collector extends Writable {
  private readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(chunk);
    cb();
  }
  bytes(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
  }
}

const nanosNow = () => String(BigInt(Date.now()) * 1_000_000n);

export class Invoker {
  constructor(private readonly deps: InvokerDeps) {}

  /**
   * Streaming mode: serves one HTTP call of `fn`, writing the answer (or the error) straight to `res`.
   * The request body streams to the function and its answer streams back as it is produced (SSE works).
   */
  async serve(req: IncomingMessage, res: ServerResponse, fn: LiveFunction, path: string, log: CallLogger): Promise<void> {
    const name = fn.record.name;
    const callId = (req.headers['x-call-id'] as string | undefined) || randomUUID();
    const length = Number(req.headers['content-length'] ?? -1);
    if (length > this.deps.maxBodyBytes) {
      res.setHeader('connection', 'close');
      return writeError(res, new PayloadTooLargeError(this.deps.maxBodyBytes), callId);
    }
    const startNs = process.hrtime.bigint();
    const startTime = nanosNow();
    this.deps.metrics.start(name);
    let status = 0;
    let closed = false;
    res.once('close', () => {
      closed = true;
      this.deps.metrics.finish(name, status || 499, Number(process.hrtime.bigint() - startNs) / 1e9);
    });
    const headers = passOnHeaders(req.headers);
    headers['x-call-id'] = callId;
    headers['x-start-time'] = startTime;
    headers['x-forwarded-host'] = req.headers.host ?? '';
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
    const body = req.method === 'GET' || req.method === 'HEAD' ? null : length >= 0 ? req : req.pipe(limited(this.deps.maxBodyBytes));
    const call: ProviderCall = {
      name,
      callId,
      method: req.method ?? 'GET',
      path,
      headers,
      body,
      maxBodyBytes: this.deps.maxBodyBytes,
      timeoutMs: fn.timeoutMs,
      readyWaitMs: this.deps.readyWaitMs,
      // No AbortSignal on the hot path (on 2 cores it cost about a tenth of the throughput): the call ends
      // when the function answers or its timeout passes.
      gone: () => closed,
    };
    try {
      await fn.provider.dispatch(call, (statusCode, upstream) => {
        status = statusCode;
        const out: Record<string, string | string[]> = { 'x-call-id': callId, 'x-start-time': startTime };
        for (const key in upstream) {
          const v = upstream[key];
          if (v !== undefined && !HOP_HEADERS.has(key)) out[key] = v;
        }
        out['x-duration-seconds'] = (Number(process.hrtime.bigint() - startNs) / 1e9).toFixed(6);
        res.writeHead(statusCode, out);
        return res;
      });
    } catch (err) {
      // The caller leaving (a reset mid-body, or gone before the answer was written) breaks the call from
      // our side: a 499, not a function failure, and not worth more than a debug line.
      const e = closed || callerLeft(req) ? new ClientClosedError(undefined, err) : this.asError(err, fn);
      if (e instanceof ClientClosedError) log.debug({ err, function: name }, 'caller left before the answer');
      else if (e.statusCode >= 500 && e.statusCode !== 504 && e.statusCode !== 503) log.warn({ err, function: name }, 'invocation failed');
      if (!res.headersSent) status = e.statusCode;
      writeError(res, e, callId);
    }
  }

  /**
   * Buffered mode: calls `req.name` and returns its whole answer. Throws NotFoundError (unknown function),
   * UnavailableError (no capacity in time), TimeoutError (past the timeout), BadGatewayError (the
   * function's backend failed) or a 499 when `req.signal` aborted the call.
   */
  async invoke(req: InvokeRequest): Promise<InvokeResult> {
    const fn = this.deps.functions.lookup(req.name);
    if (!fn) throw this.deps.functions.notLive(req.name);
    const timeoutMs = Math.min(fn.timeoutMs, req.timeoutMs ?? Infinity);
    const callId = req.callId ?? randomUUID();
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    this.deps.metrics.start(req.name);
    let status = 500;
    // Our own deadline (a graph node's timeoutMs may be shorter than the function's): one controller, its
    // timer cleared and the caller's listener removed when the call ends.
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, timeoutMs);
    const onAbort = () => ac.abort(req.signal?.reason);
    if (req.signal?.aborted) onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const sink = new Collector();
    let answerHeaders: Record<string, string | string[] | undefined> = {};
    try {
      await fn.provider.dispatch(
        {
          name: req.name,
          callId,
          method: req.method ?? 'POST',
          path: req.path ?? '/',
          headers: { ...req.headers, 'x-call-id': callId, 'x-start-time': nanosNow() },
          body: req.body === undefined ? null : Buffer.from(req.body as Uint8Array),
          maxBodyBytes: this.deps.maxBodyBytes,
          timeoutMs,
          readyWaitMs: this.deps.readyWaitMs,
          signal: ac.signal,
        },
        (statusCode, headers) => {
          status = statusCode;
          answerHeaders = headers;
          return sink;
        },
      );
      return { status, headers: answerHeaders, body: sink.bytes(), callId, durationSeconds: seconds() };
    } catch (err) {
      const e = timedOut ? new TimeoutError(`function ${req.name} did not answer within its timeout of ${timeoutMs} ms`) : this.asError(err, fn);
      status = e.statusCode;
      throw e;
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      this.deps.metrics.finish(req.name, status, seconds());
    }
  }

  /** Any failure as the catalogue's error (providers throw catalogue errors; aborts become a 499). */
  private asError(err: unknown, fn: LiveFunction): SpindleError {
    if (err instanceof SpindleError) return err;
    const name = fn.record.name;
    if ((err as Error)?.name === 'AbortError' || (err as { code?: string })?.code === 'UND_ERR_ABORTED') {
      return new SpindleError(499, 'SPINDLE_CANCELLED', `call to ${name} was cancelled`, { cause: err });
    }
    return new BadGatewayError(`function ${name} failed while handling the request: ${(err as Error)?.message ?? String(err)}`, err);
  }
}
