/**
 * The producer side of async invocations and the status API: enqueue, status, cancel, dead letters, redrive.
 * Every write goes to JetStream; nothing here is kept in the gateway's memory, so any gateway can answer.
 */
import { ConflictError, NotFoundError } from '../errors.ts';
import type { Bodies } from './bodies.ts';
import type { DeadLetters } from './dead-letters.ts';
import { requestFingerprint, type IdempotencyKeys } from './keys.ts';
import { isConflict, isMissing, natsError, type AsyncLink } from './link.ts';
import { isFinal, type StatusStore } from './status.ts';
import type { DeadMeta, RetryPolicy, StatusMeta, WorkMeta } from './types.ts';

/** A call to queue. */
export interface EnqueueRequest {
  fn: string;
  callId: string;
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer;
  callbackUrl?: string;
  maxInflight: number;
  policy: RetryPolicy;
  /** The caller chose `callId` (X-Call-Id): a repeat of the same request is answered, not refused. */
  callIdSent?: boolean;
  /** The caller's Idempotency-Key: a repeat of the same request gets the first call's id. */
  idempotencyKey?: string;
}

/** What an enqueue did: queued `callId`, or found it queued by an earlier, identical request. */
export interface Enqueued {
  callId: string;
  /** True when nothing was queued: the call is the one an earlier request with this key or X-Call-Id queued. */
  replayed: boolean;
}

/** What `GET /async-function/status/:callId` answers. */
export interface CallView {
  callId: string;
  function: string;
  state: StatusMeta['state'];
  attempts: number;
  maxAttempts: number;
  enqueuedAt: string;
  startedAt?: string;
  finishedAt?: string;
  retryAt?: string;
  lastStatus?: number;
  callbackUrl?: string;
  callbackError?: string;
  result?: { status: number; headers: Record<string, string | string[]>; durationSeconds: number; size: number; body: string; bodyEncoding: 'utf8' | 'base64' };
}

/** A dead letter as listed. */
export interface DeadLetterView {
  callId: string;
  function: string;
  status: number;
  attempts: number;
  error?: string;
  enqueuedAt: string;
  failedAt: string;
  callbackUrl?: string;
  bodySize: number;
}

const unknownCall = (callId: string) => new NotFoundError(`async call "${callId}" is unknown, or finished longer ago than the result TTL`);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const TEXTUAL = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|x-ndjson)|[^;]*\+(json|xml))/i;

/** UTF-8 when the content type is textual and the bytes decode cleanly, else base64. */
function encodeBody(body: Buffer, contentType: string | string[] | undefined): { body: string; bodyEncoding: 'utf8' | 'base64' } {
  const ct = Array.isArray(contentType) ? contentType[0] : contentType;
  if (ct && TEXTUAL.test(ct)) {
    const text = body.toString('utf8');
    if (Buffer.byteLength(text) === body.length && !text.includes('\uFFFD')) return { body: text, bodyEncoding: 'utf8' };
  }
  return { body: body.toString('base64'), bodyEncoding: 'base64' };
}

/** What the queue is built from (see service.ts). */
export interface AsyncQueueDeps {
  link: AsyncLink;
  status: StatusStore;
  dead: DeadLetters;
  bodies: Bodies;
  keys: IdempotencyKeys;
  /** Told of every function that got a call, so an in-process worker starts consuming it at once. */
  onEnqueued?: (fn: string) => void;
}

/** Enqueue, status, cancel, dead letters and redrive, all through JetStream. */
export class AsyncQueue {
  constructor(private readonly deps: AsyncQueueDeps) {}

  /**
   * Queues a call. A repeat of an earlier request (same Idempotency-Key, or same X-Call-Id, with the same
   * function, method, path, callback URL and body) queues nothing and returns the earlier call's id; a key or
   * X-Call-Id used for a different request is a 409. 503 naming NATS when NATS does not answer.
   */
  async enqueue(req: EnqueueRequest): Promise<Enqueued> {
    const { link, status, bodies, keys } = this.deps;
    const ctx = await link.get();
    // Only a caller-chosen id or key can repeat; a random call id needs no fingerprint (and no hashing of the body).
    const request = req.callIdSent || req.idempotencyKey ? requestFingerprint(req) : undefined;
    const key = req.idempotencyKey;
    let claimed = false;
    try {
      await link.ensureConsumer(ctx, req.fn, req.maxInflight);
      if (key) {
        const earlier = await keys.claim(ctx, key, { callId: req.callId, request: request! });
        if (earlier) {
          if (earlier.request !== request) throw new ConflictError(`Idempotency-Key "${key}" was used for a different request (call ${earlier.callId}); send a new key for a new call`);
          return { callId: earlier.callId, replayed: true };
        }
        claimed = true;
      }
      const meta: StatusMeta = { callId: req.callId, fn: req.fn, state: 'queued', attempts: 0, maxAttempts: req.policy.attempts, enqueuedAt: Date.now(), callbackUrl: req.callbackUrl, request };
      let statusSeq: number;
      try {
        statusSeq = await status.put(ctx, meta, undefined, 0);
      } catch (err) {
        if (!isConflict(err)) throw err;
        const first = await status.get(ctx, req.callId);
        if (request && first?.meta.request === request) return { callId: req.callId, replayed: true };
        throw new ConflictError(`X-Call-Id "${req.callId}" was already used for another call; send a new one or none`);
      }
      const work: WorkMeta = { callId: req.callId, fn: req.fn, method: req.method, path: req.path, headers: req.headers, callbackUrl: req.callbackUrl, enqueuedAt: meta.enqueuedAt, policy: req.policy, bodySize: req.body.length, statusSeq, request };
      try {
        const { data } = await bodies.pack(ctx, work, req.body, link.names.blobKey(req.callId, 'request'), (m, k) => ({ ...m, bodyKey: k }));
        await ctx.js.publish(link.names.workSubject(req.fn), data, { msgID: req.callId });
      } catch (err) {
        // Not queued after all: forget the status, so the call id does not read "queued" forever.
        await ctx.jsm.streams.purge(link.names.status, { filter: link.names.statusSubject(req.callId) }).catch(() => {});
        throw err;
      }
    } catch (err) {
      // Not queued: a retry with the same key must be able to queue it.
      if (claimed) await keys.release(ctx, key!).catch(() => {});
      throw this.#fail(err);
    }
    this.deps.onEnqueued?.(req.fn);
    return { callId: req.callId, replayed: false };
  }

  /** Where `callId` stands, with its stored result once it has one; 404 when unknown or expired. */
  async view(callId: string): Promise<CallView> {
    const ctx = await this.deps.link.get(false);
    const entry = await this.deps.status.get(ctx, callId).catch((err) => (isMissing(err) ? null : Promise.reject(this.#fail(err))));
    if (!entry) throw unknownCall(callId);
    const m = entry.meta;
    const view: CallView = {
      callId: m.callId,
      function: m.fn,
      state: m.state,
      attempts: m.attempts,
      maxAttempts: m.maxAttempts,
      enqueuedAt: iso(m.enqueuedAt)!,
      startedAt: iso(m.startedAt),
      finishedAt: iso(m.finishedAt),
      retryAt: iso(m.retryAt),
      lastStatus: m.lastStatus,
      callbackUrl: m.callbackUrl,
      callbackError: m.callbackError,
    };
    if (m.result) {
      const body = (await this.deps.status.resultBody(entry)) ?? Buffer.alloc(0);
      const { bodyKey: _key, ...result } = m.result;
      view.result = { ...result, ...encodeBody(body, result.headers['content-type']) };
    }
    return view;
  }

  /** Cancels a call that has not started; 409 once it has (or finished), 404 when unknown. */
  async cancel(callId: string): Promise<CallView> {
    const { link, status } = this.deps;
    const ctx = await link.get(false);
    for (;;) {
      const entry = await status.get(ctx, callId).catch((err) => (isMissing(err) ? null : Promise.reject(this.#fail(err))));
      if (!entry) throw unknownCall(callId);
      const { state, attempts } = entry.meta;
      if (state !== 'queued' || attempts > 0) {
        throw new ConflictError(`async call "${callId}" cannot be cancelled: it is ${isFinal(state) ? state : attempts > 0 && state === 'queued' ? 'waiting for a retry' : state}`);
      }
      try {
        // Compare-and-set: if a worker started it meanwhile, its "running" wins and we answer 409 on the next turn.
        await status.put(ctx, { ...entry.meta, state: 'cancelled', finishedAt: Date.now() }, undefined, entry.seq);
        return this.view(callId);
      } catch (err) {
        if (!isConflict(err)) throw this.#fail(err);
      }
    }
  }

  /** Dead letters, oldest first. */
  async deadLetters(fn: string | undefined, limit: number): Promise<DeadLetterView[]> {
    const ctx = await this.deps.link.get(false);
    const list = await this.deps.dead.list(ctx, fn, limit).catch((err) => (isMissing(err) ? [] : Promise.reject(this.#fail(err))));
    return list.map((d: DeadMeta) => ({
      callId: d.callId,
      function: d.fn,
      status: d.status,
      attempts: d.attempts,
      error: d.error,
      enqueuedAt: iso(d.enqueuedAt)!,
      failedAt: iso(d.failedAt)!,
      callbackUrl: d.callbackUrl,
      bodySize: d.bodySize,
    }));
  }

  /**
   * Queues a dead letter again with a fresh attempt count and the function's current settings (`settings`
   * may throw, e.g. a 404 for a function no longer deployed); 404 when there is no such dead letter.
   */
  async redrive(callId: string, settings: (fn: string) => { maxInflight: number; policy: RetryPolicy }): Promise<void> {
    const { link, status, dead, bodies } = this.deps;
    const ctx = await link.get(false);
    let fn: string;
    try {
      const letter = await dead.get(ctx, callId).catch((err) => (isMissing(err) ? null : Promise.reject(err)));
      if (!letter) throw new NotFoundError(`no dead letter for async call "${callId}"`);
      const { failedAt: _f, status: _s, attempts: _a, error: _e, ...work } = letter.meta;
      fn = work.fn;
      const current = settings(fn);
      await link.ensureConsumer(ctx, fn, current.maxInflight);
      const enqueuedAt = Date.now();
      const statusSeq = await status.put(ctx, { callId, fn, state: 'queued', attempts: 0, maxAttempts: current.policy.attempts, enqueuedAt, callbackUrl: work.callbackUrl, request: work.request });
      const meta: WorkMeta = { ...work, policy: current.policy, enqueuedAt, statusSeq };
      const { data } = await bodies.pack(ctx, meta, letter.body, link.names.blobKey(callId, 'request'), (m, k) => ({ ...m, bodyKey: k }));
      await ctx.js.publish(link.names.workSubject(meta.fn), data, { msgID: `${callId}.redrive.${Date.now()}` });
      await dead.remove(ctx, callId);
    } catch (err) {
      throw this.#fail(err);
    }
    this.deps.onEnqueued?.(fn);
  }

  #fail(err: unknown): unknown {
    return natsError(err, this.deps.link.opts.nats.url);
  }
}
