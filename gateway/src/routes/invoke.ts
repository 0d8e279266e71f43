/** `ANY /function/:name[/*]`: proxies to a ready replica and streams the answer back as it is produced. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { errors as undiciErrors, type Dispatcher } from 'undici';
import { isValidName } from '@spindle/schemas';
import { HOP_HEADERS, passOnHeaders } from '../http-headers.ts';
import { callerLeft } from '../caller.ts';
import { BadGatewayError, BadRequestError, ClientClosedError, NotFoundError, PayloadTooLargeError, SpindleError, TimeoutError } from '../errors.ts';
import { NAMESPACE, type FunctionService, type LiveFunction } from '../functions.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { Lease, Provider } from '../provider/types.ts';
import { invokeGpuRoute } from '../gpu/route.ts';
import type { GpuService } from '../gpu/service.ts';

export interface InvokeDeps {
  functions: FunctionService;
  provider: Provider;
  metrics: GatewayMetrics;
  maxBodyBytes: number;
  /** How long a call waits for a replica that is still starting before it gets a 503. */
  readyWaitMs: number;
  /** GPU functions go through the GPU stream instead of a replica. */
  gpu?: GpuService;
}

const HOP = HOP_HEADERS;

/** Splits `/function/name.openfaas-fn/rest?q` into the function name and the path the replica sees. */
function target(url: string): { name: string; path: string } {
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  const rest = pathname.slice('/function/'.length);
  const slash = rest.indexOf('/');
  const raw = slash < 0 ? rest : rest.slice(0, slash);
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    throw new BadRequestError(`function name "${raw}" is not valid URL encoding`);
  }
  if (!/^[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})?$/.test(name)) {
    throw new BadRequestError(`function name "${name}" is invalid: use lowercase letters, digits and "-" (a DNS-1123 label)`);
  }
  const dot = name.indexOf('.');
  if (dot >= 0) {
    const ns = name.slice(dot + 1);
    if (ns !== NAMESPACE) throw new NotFoundError(`namespace "${ns}" does not exist: Spindle has one namespace, ${NAMESPACE}`);
    name = name.slice(0, dot);
  }
  if (!isValidName(name)) throw new BadRequestError(`function name "${name}" is invalid: use lowercase letters, digits and "-" (a DNS-1123 label)`);
  return { name, path: (slash < 0 ? '/' : rest.slice(slash)) + (q < 0 ? '' : url.slice(q)) };
}

/** Counts bytes of a chunked body and fails with 413 past the limit. */
function limited(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      cb(seen > limit ? new PayloadTooLargeError(limit) : null, chunk);
    },
  });
}

function asHttpError(err: unknown, name: string, timeoutMs: number, replicaId: string): SpindleError {
  if (err instanceof SpindleError) return err;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new TimeoutError(`function ${name} did not answer within its timeout of ${timeoutMs} ms`);
  }
  if (err instanceof undiciErrors.RequestContentLengthMismatchError) return new BadRequestError('request body does not match its Content-Length');
  return new BadGatewayError(`replica ${replicaId} of function ${name} failed while handling the request: ${(err as Error).message}`, err);
}

/** Where invocation failures are logged (pino or fastify's logger). */
type WarnLogger = { warn(obj: object, msg?: string): void; debug(obj: object, msg?: string): void };

/** Renders a catalogue error straight onto a raw response (paths that bypass fastify's reply). */
export function writeError(res: ServerResponse, e: SpindleError, callId?: string): void {
  if (res.headersSent) return void res.destroy();
  if (res.destroyed) return;
  const payload = JSON.stringify({ error: { code: e.code, message: e.message } });
  res.writeHead(e.statusCode, {
    ...e.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...(callId && { 'x-call-id': callId }),
  });
  res.end(payload);
}

/**
 * Proxies one call of a control function to a ready replica and writes the answer straight to `res`:
 * undici's stream() hands over the replica's status and headers, then pipes its body into `res` chunk by
 * chunk with no intermediate stream (the fastest undici API, and what makes SSE reach the caller live).
 * Every outcome, errors included, is written here.
 */
async function proxyToReplica(req: IncomingMessage, res: ServerResponse, name: string, path: string, fn: LiveFunction, deps: InvokeDeps, log: WarnLogger): Promise<void> {
  const callId = (req.headers['x-call-id'] as string | undefined) || randomUUID();
  const length = Number(req.headers['content-length'] ?? -1);
  if (length > deps.maxBodyBytes) {
    res.setHeader('connection', 'close');
    return writeError(res, new PayloadTooLargeError(deps.maxBodyBytes), callId);
  }
  const startNs = process.hrtime.bigint();
  const startTime = String(BigInt(Date.now()) * 1_000_000n);
  deps.metrics.start(name);
  let status = 0;
  let lease: Lease | null = null;
  let closed = false;
  res.once('close', () => {
    closed = true;
    deps.metrics.finish(name, status || 499, Number(process.hrtime.bigint() - startNs) / 1e9);
  });
  try {
    lease = await deps.provider.acquire(name, deps.readyWaitMs);
    if (!lease) throw new NotFoundError(`function "${name}" is not deployed`);
    // The caller left while we waited for a replica: send nothing.
    if (closed) return;
    const headers = passOnHeaders(req.headers);
    headers['x-call-id'] = callId;
    headers['x-start-time'] = startTime;
    headers['x-forwarded-host'] = req.headers.host ?? '';
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
    let body: Dispatcher.DispatchOptions['body'] = null;
    if (req.method !== 'GET' && req.method !== 'HEAD') body = length >= 0 ? req : req.pipe(limited(deps.maxBodyBytes));
    await lease.dispatcher.stream(
      { origin: 'http://replica', path, method: req.method as Dispatcher.HttpMethod, headers, body, headersTimeout: fn.timeoutMs, bodyTimeout: fn.timeoutMs },
      ({ statusCode, headers: upstream }) => {
        status = statusCode;
        const out: Record<string, string | string[]> = { 'x-call-id': callId, 'x-start-time': startTime };
        for (const key in upstream) {
          const v = upstream[key];
          if (v !== undefined && !HOP.has(key)) out[key] = v;
        }
        out['x-duration-seconds'] = (Number(process.hrtime.bigint() - startNs) / 1e9).toFixed(6);
        res.writeHead(statusCode, out);
        return res;
      },
    );
  } catch (err) {
    // The caller leaving (a reset mid-body, or gone before the answer was written) breaks the call from our
    // side: that is a 499, not a replica failure, and not worth more than a debug line.
    const e = closed || callerLeft(req) ? new ClientClosedError(undefined, err) : asHttpError(err, name, fn.timeoutMs, lease?.replicaId ?? '');
    if (e instanceof ClientClosedError) log.debug({ err, function: name, replica: lease?.replicaId }, 'caller left before the answer');
    else if (e.statusCode >= 500 && e.statusCode !== 504 && e.statusCode !== 503) log.warn({ err, function: name, replica: lease?.replicaId }, 'invocation failed');
    if (!res.headersSent) status = e.statusCode;
    writeError(res, e, callId);
  } finally {
    // The lease ends with the upstream call, not with the caller: a caller that leaves mid-call does
    // not make a still-busy replica look idle. (No AbortSignal on the call: on 2 cores it cost about a
    // tenth of the throughput; the call ends when the replica answers or its timeout passes.)
    lease?.release();
  }
}

/**
 * The hot path, ahead of fastify's routing (installed with `serverFactory`): a call to a deployed
 * control function goes straight to `proxyToReplica`, skipping fastify's per-request work (request and
 * reply objects, hooks, body parsing), which costs a trivial function a noticeable share of its
 * throughput. Anything else (unknown or invalid names, GPU functions) returns false and takes the
 * fastify route below, which renders those cases.
 */
export function fastInvoke(deps: InvokeDeps, log: WarnLogger): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith('/function/')) return false;
    let t: { name: string; path: string };
    try {
      t = target(url);
    } catch {
      return false;
    }
    const fn = deps.functions.lookup(t.name);
    if (!fn || fn.gpu) return false;
    void proxyToReplica(req, res, t.name, t.path, fn, deps, log);
    return true;
  };
}

/** The invoke routes, in a scope whose bodies are left unread so they stream to the replica. */
export function invokeRoutes(deps: InvokeDeps): FastifyPluginAsync {
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, _payload, done) => done(null));

    async function invoke(request: FastifyRequest, reply: FastifyReply) {
      const { name, path } = target(request.raw.url ?? '');
      const fn = deps.functions.lookup(name);
      if (!fn) throw deps.functions.notLive(name);
      if (fn.gpu && deps.gpu) {
        const length = Number(request.headers['content-length'] ?? -1);
        if (length > deps.maxBodyBytes) {
          reply.header('connection', 'close');
          throw new PayloadTooLargeError(deps.maxBodyBytes);
        }
        const callId = (request.headers['x-call-id'] as string | undefined) || randomUUID();
        return invokeGpuRoute(request, reply, { ...fn, gpu: fn.gpu }, { gpu: deps.gpu, metrics: deps.metrics, maxBodyBytes: deps.maxBodyBytes }, callId);
      }
      reply.hijack();
      await proxyToReplica(request.raw, reply.raw, name, path, fn, deps, request.log);
    }

    app.all('/function/:name', invoke);
    app.all('/function/:name/*', invoke);
  };
}
