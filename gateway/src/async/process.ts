/**
 * One queued call, start to end: status "running" (compare-and-set, so a cancel and a start cannot both
 * win), invoke with ack-wait heartbeats, then either a delayed retry (nak with backoff) or the end: dead
 * letter on failure, final status with the stored result, callback, ack. A redelivered call whose status is
 * already final is not run again: only its callback is sent again (at-least-once).
 */
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { Bodies } from './bodies.ts';
import { deliverCallback, type CallbackOptions } from './callback.ts';
import type { DeadLetters } from './dead-letters.ts';
import { unpack } from './envelope.ts';
import { errorResult } from './invokers.ts';
import { isConflict, type AsyncContext, type AsyncLink } from './link.ts';
import { parseRetryAfter, retryDelay } from './policy.ts';
import { isFinal, type StatusEntry, type StatusStore } from './status.ts';
import type { AsyncInvoker, AsyncMetrics, AsyncResult, StatusMeta, WorkMeta } from './types.ts';

/** What processing a call needs. */
export interface ProcessDeps {
  link: AsyncLink;
  status: StatusStore;
  dead: DeadLetters;
  bodies: Bodies;
  invoker: AsyncInvoker;
  metrics: AsyncMetrics;
  logger: Logger;
  callback?: CallbackOptions;
}

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

function storedHeaders(headers: AsyncResult['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** Runs the call `m` carries; resolves once it is acked, nak'ed for a retry, or terminated. Throws when aborted or when NATS failed mid-way. */
export async function processCall(deps: ProcessDeps, ctx: AsyncContext, m: JsMsg, signal: AbortSignal): Promise<void> {
  // A call may run for longer than the ack wait: tell JetStream it is still being worked on.
  const heartbeat = setInterval(() => m.working(), Math.max(100, Math.floor(deps.link.opts.ackWaitMs / 3)));
  try {
    await run(deps, ctx, m, signal);
  } finally {
    clearInterval(heartbeat);
  }
}

async function run(deps: ProcessDeps, ctx: AsyncContext, m: JsMsg, signal: AbortSignal): Promise<void> {
  let work: WorkMeta;
  let inline: Buffer;
  try {
    ({ meta: work, body: inline } = unpack<WorkMeta>(m.data));
  } catch (err) {
    deps.logger.error({ err, subject: m.subject, seq: m.seq }, 'dropping an unreadable async message');
    return m.term('unreadable');
  }
  const attempt = m.info.deliveryCount;
  // A first delivery knows its "queued" status's sequence; anything else reads the status first.
  let entry: StatusEntry | null | undefined = attempt === 1 && work.statusSeq ? undefined : await deps.status.get(ctx, work.callId);
  let running: StatusMeta;
  for (let turn = 0; ; turn++) {
    if (entry && isFinal(entry.meta.state)) return finishAgain(deps, ctx, m, work, entry, signal);
    const base: StatusMeta = entry?.meta ?? { callId: work.callId, fn: work.fn, state: 'queued', attempts: 0, maxAttempts: work.policy.attempts, enqueuedAt: work.enqueuedAt, callbackUrl: work.callbackUrl, request: work.request };
    running = { ...base, state: 'running', attempts: attempt, startedAt: Date.now(), retryAt: undefined };
    try {
      await deps.status.put(ctx, running, undefined, entry === undefined ? work.statusSeq : (entry?.seq ?? 0));
      break;
    } catch (err) {
      if (!isConflict(err) || turn >= 3) throw err;
      entry = await deps.status.get(ctx, work.callId);
    }
  }

  const body = await deps.bodies.body(inline, work.bodyKey);
  const result = body
    ? await deps.invoker.invoke({ name: work.fn, method: work.method, path: work.path, headers: work.headers, body, callId: work.callId, signal })
    : errorResult(500, 'SPINDLE_ASYNC_BODY_LOST', `the request body of async call ${work.callId} is gone from the object store`, 0);

  const { policy } = work;
  if (policy.codes.includes(result.status) && attempt < policy.attempts) {
    const delay = retryDelay(policy, attempt, parseRetryAfter(result.headers['retry-after']));
    await deps.status.put(ctx, { ...running, state: 'queued', lastStatus: result.status, retryAt: Date.now() + delay });
    deps.metrics.asyncRetry(work.fn);
    deps.logger.info({ function: work.fn, callId: work.callId, status: result.status, attempt, delayMs: delay }, 'async call will be retried');
    return m.nak(delay);
  }

  const failed = result.status >= 400;
  if (failed) {
    await deps.dead.put(ctx, { ...work, failedAt: Date.now(), status: result.status, attempts: attempt, error: result.error }, inline);
    deps.metrics.asyncDeadLetter(work.fn);
    deps.logger.warn({ function: work.fn, callId: work.callId, status: result.status, attempts: attempt }, 'async call failed; moved to the dead letters');
  }
  const headers = storedHeaders(result.headers);
  const final: StatusMeta = {
    ...running,
    state: failed ? 'failed' : 'succeeded',
    finishedAt: Date.now(),
    lastStatus: failed ? result.status : undefined,
    result: { status: result.status, headers, durationSeconds: result.durationSeconds, size: result.body.length },
  };
  await deps.status.put(ctx, final, result.body);
  if (work.callbackUrl) {
    const error = await deliverCallback(
      work.callbackUrl,
      { callId: work.callId, fn: work.fn, status: result.status, contentType: first(headers['content-type']), durationSeconds: result.durationSeconds, body: result.body, retry: attempt - 1, retryMax: policy.attempts - 1 },
      signal,
      deps.callback,
    );
    if (error) await callbackFailed(deps, ctx, final, result.body, error);
  }
  m.ack();
  if (!failed) await deps.bodies.delete(work.bodyKey);
}

async function callbackFailed(deps: ProcessDeps, ctx: AsyncContext, final: StatusMeta, body: Buffer, error: string): Promise<void> {
  deps.metrics.asyncCallbackFailed(final.fn);
  deps.logger.warn({ function: final.fn, callId: final.callId, error }, 'async callback could not be delivered');
  await deps.status.put(ctx, { ...final, callbackError: error }, body);
}

/** A redelivered call that already ended (the worker died before its ack): resend the callback from the stored result, then ack. */
async function finishAgain(deps: ProcessDeps, ctx: AsyncContext, m: JsMsg, work: WorkMeta, entry: StatusEntry, signal: AbortSignal): Promise<void> {
  const meta = entry.meta;
  if (meta.state !== 'cancelled' && work.callbackUrl && meta.result && !meta.callbackError) {
    const body = (await deps.status.resultBody(entry)) ?? Buffer.alloc(0);
    const r = meta.result;
    const error = await deliverCallback(
      work.callbackUrl,
      { callId: work.callId, fn: work.fn, status: r.status, contentType: first(r.headers['content-type']), durationSeconds: r.durationSeconds, body, retry: meta.attempts - 1, retryMax: work.policy.attempts - 1 },
      signal,
      deps.callback,
    );
    if (error) await callbackFailed(deps, ctx, meta, body, error);
  }
  m.ack();
  if (meta.state !== 'failed') await deps.bodies.delete(work.bodyKey);
}
