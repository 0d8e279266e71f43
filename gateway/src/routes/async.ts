/**
 * Async invocations (OpenFaaS's `/async-function/NAME`: 202 + X-Call-Id, result to X-Callback-Url), the call
 * status API, cancellation, and dead letters. Enqueue is public like `/function/*`; the rest needs admin auth.
 */
import { passOnHeaders } from '../http-headers.ts';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { adminAuth } from '../auth.ts';
import type { CallList } from '../async/calls.ts';
import type { Sessions } from '../session.ts';
import { callbackUrl } from '../async/callback.ts';
import { CALL_ID, IDEMPOTENCY_KEY } from '../async/names.ts';
import { asyncPolicy } from '../async/policy.ts';
import type { CallState } from '../async/types.ts';
import type { AsyncQueue } from '../async/queue.ts';
import { BadRequestError, NotFoundError } from '../errors.ts';
import type { FunctionService } from '../functions.ts';
import { functionName, wholeNumber } from './validate.ts';

/** What the async routes need. */
export interface AsyncRoutesDeps {
  queue: AsyncQueue;
  functions: FunctionService;
  adminPassword: string;
  /** Web app sessions, accepted beside the admin credentials. */
  sessions?: Sessions;
  /** Recent calls for `GET /system/async/calls`. */
  calls?: CallList;
  maxBodyBytes: number;
  /** max_inflight of functions without `com.openfaas.queue.max_inflight`. */
  defaultMaxInflight: number;
}

// Framing is not kept with a queued call either: the worker sends the body with its own length.
const FRAMING = new Set(['content-length']);
const keptHeaders = (headers: IncomingHttpHeaders) => passOnHeaders(headers, FRAMING);

const CALL_STATES: readonly CallState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** A call id from a URL; it becomes a NATS subject token, so wildcards and dots are refused. */
function callIdParam(id: string): string {
  if (!CALL_ID.test(id)) throw new BadRequestError(`call id "${id.slice(0, 200)}" is invalid: 1 to 128 letters, digits, "-" or "_"`);
  return id;
}

/** What an enqueue request is about, checked before its body is read. */
interface Target {
  fn: string;
  path: string;
  callId: string;
  /** The caller chose the call id (X-Call-Id). */
  callIdSent: boolean;
  idempotencyKey?: string;
  callbackUrl?: string;
}

/** The Idempotency-Key header's key: bare, or quoted as the IETF draft writes it (a structured-field string). */
function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const key = /^"(.*)"$/.exec(header)?.[1] ?? header;
  if (!IDEMPOTENCY_KEY.test(key)) throw new BadRequestError(`header "Idempotency-Key" must be 1 to 255 letters, digits or "-_.:~+/=" (optionally in double quotes), got "${header.slice(0, 200)}"`);
  return key;
}

/** Parses `/async-function/name[.openfaas-fn][/rest][?q]` and the async headers; 400 names what is wrong, 404 for an unknown function. */
function target(req: FastifyRequest, functions: FunctionService): Target {
  const url = req.raw.url ?? '';
  const q = url.indexOf('?');
  const rest = (q < 0 ? url : url.slice(0, q)).slice('/async-function/'.length);
  const slash = rest.indexOf('/');
  const raw = slash < 0 ? rest : rest.slice(0, slash);
  let fn: string;
  try {
    fn = decodeURIComponent(raw);
  } catch {
    throw new BadRequestError(`function name "${raw.slice(0, 100)}" is not valid percent-encoding`);
  }
  fn = functionName(fn);
  if (!functions.lookup(fn)) throw functions.notLive(fn);
  const sentId = one(req.headers['x-call-id']);
  if (sentId !== undefined && !CALL_ID.test(sentId)) throw new BadRequestError(`header "X-Call-Id" must be 1 to 128 letters, digits, "-" or "_", got "${sentId.slice(0, 200)}"`);
  const cb = one(req.headers['x-callback-url']);
  if (cb !== undefined && !callbackUrl(cb)) throw new BadRequestError(`header "X-Callback-Url" must be an absolute http:// or https:// URL, got "${cb.slice(0, 200)}"`);
  const key = idempotencyKey(one(req.headers['idempotency-key']));
  return { fn, path: (slash < 0 ? '/' : rest.slice(slash)) + (q < 0 ? '' : url.slice(q)), callId: sentId || randomUUID(), callIdSent: sentId !== undefined, idempotencyKey: key, callbackUrl: cb };
}

/** The async routes, each scope with its own body handling and auth. */
export function asyncRoutes(deps: AsyncRoutesDeps): FastifyPluginAsync {
  const settings = (fn: string) => {
    const live = deps.functions.lookup(fn);
    if (!live) throw new NotFoundError(`function "${fn}" is not deployed; deploy it again before redriving its calls`);
    const { maxInflight, retry } = asyncPolicy(live.record.spec.annotations, deps.defaultMaxInflight);
    return { maxInflight, policy: retry };
  };

  return async (app) => {
    app.register(async (pub) => {
      pub.removeAllContentTypeParsers();
      pub.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.maxBodyBytes }, (_req, body, done) => done(null, body));
      const targets = new WeakMap<FastifyRequest, Target>();
      // Name, function and headers are checked before the body is read: a 404 does not wait for 32 MiB.
      pub.addHook('onRequest', async (req) => {
        targets.set(req, target(req, deps.functions));
      });
      const enqueue = async (req: FastifyRequest, reply: FastifyReply) => {
        const t = targets.get(req)!;
        const { maxInflight, policy } = settings(t.fn);
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const { callId, replayed } = await deps.queue.enqueue({ ...t, method: req.method, headers: keptHeaders(req.headers), body, maxInflight, policy });
        // A repeat (same Idempotency-Key or X-Call-Id, same request) is answered like the first request; the
        // header (Stripe's name) tells a client that looks that nothing new was queued.
        if (replayed) reply.header('idempotent-replayed', 'true');
        return reply.code(202).header('x-call-id', callId).send();
      };
      for (const url of ['/async-function/:name', '/async-function/:name/*']) pub.route({ method: ['POST', 'PUT', 'PATCH'], url, bodyLimit: deps.maxBodyBytes, handler: enqueue });
    });

    app.register(async (admin) => {
      const check = adminAuth(deps.adminPassword, deps.sessions);
      admin.addHook('onRequest', async (req) => check(req.headers, req.method));
      admin.get<{ Params: { callId: string } }>('/async-function/status/:callId', async (req) => deps.queue.view(callIdParam(req.params.callId)));
      admin.delete<{ Params: { callId: string } }>('/async-function/:callId', async (req) => deps.queue.cancel(callIdParam(req.params.callId)));
      admin.get<{ Querystring: { function?: string; status?: string; limit?: string; cursor?: string } }>('/system/async/calls', async (req) => {
        if (!deps.calls) throw new NotFoundError('this gateway lists no async calls');
        const { status } = req.query;
        if (status !== undefined && !CALL_STATES.includes(status as CallState)) throw new BadRequestError(`query "status" must be one of ${CALL_STATES.join(', ')}, got "${status.slice(0, 40)}"`);
        const limit = wholeNumber(req.query, 'limit', 1, 200, 50);
        const cursor = wholeNumber(req.query, 'cursor', 1, Number.MAX_SAFE_INTEGER, 0) || undefined;
        return deps.calls.list({ fn: req.query.function === undefined ? undefined : functionName(req.query.function), status: status as CallState | undefined, limit, cursor });
      });
      admin.get<{ Querystring: { function?: string; limit?: string } }>('/system/async/dead-letters', async (req) => {
        const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new BadRequestError(`query "limit" must be a whole number from 1 to 10000, got "${req.query.limit}"`);
        // NAME or NAME.openfaas-fn, read like every other route's function name.
        return deps.queue.deadLetters(req.query.function === undefined ? undefined : functionName(req.query.function), limit);
      });
      admin.post<{ Params: { callId: string } }>('/system/async/dead-letters/:callId/redrive', async (req, reply) => {
        await deps.queue.redrive(callIdParam(req.params.callId), settings);
        return reply.code(202).header('x-call-id', req.params.callId).send({ callId: req.params.callId, state: 'queued' });
      });
    });
  };
}
