/** Delivers a call's result to its X-Callback-Url (OpenFaaS's headers), retrying network failures, 408, 429 and 5xx a bounded number of times. */
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { parseRetryAfter } from './policy.ts';

/** How hard a callback is tried. */
export interface CallbackOptions {
  attempts: number;
  minWaitMs: number;
  maxWaitMs: number;
  /** Per attempt. */
  timeoutMs: number;
}

/** 5 attempts over about 8 s, then the failure is recorded on the call's status. */
const CALLBACK_DEFAULTS: CallbackOptions = { attempts: 5, minWaitMs: 500, maxWaitMs: 4000, timeoutMs: 10_000 };

/** What the callback carries. */
export interface CallbackPayload {
  callId: string;
  fn: string;
  status: number;
  contentType?: string;
  durationSeconds: number;
  body: Buffer;
  /** Retries before this result (0: first attempt). */
  retry: number;
  retryMax: number;
}

/** Parses and checks an X-Callback-Url value: an absolute http(s) URL, or null when it is not one. */
export function callbackUrl(value: string): URL | null {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

/** POSTs the result; resolves with null once the receiver answered 2xx/3xx, else with the last failure. */
export async function deliverCallback(url: string, p: CallbackPayload, signal: AbortSignal, opts: CallbackOptions = CALLBACK_DEFAULTS): Promise<string | null> {
  const headers: Record<string, string> = {
    'x-call-id': p.callId,
    'x-function-name': p.fn,
    'x-function-status': String(p.status),
    'x-duration-seconds': p.durationSeconds.toFixed(6),
    'x-retry': String(p.retry),
    'x-retry-max': String(p.retryMax),
  };
  if (p.contentType) headers['content-type'] = p.contentType;
  let failure = '';
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    let wait: number | null = null;
    try {
      const res = await request(url, { method: 'POST', headers, body: p.body, signal: AbortSignal.any([signal, AbortSignal.timeout(opts.timeoutMs)]), headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs });
      await res.body.dump();
      if (res.statusCode < 400) return null;
      failure = `callback ${url} answered ${res.statusCode}`;
      if (!retryable(res.statusCode)) return failure;
      wait = parseRetryAfter(res.headers['retry-after']);
    } catch (err) {
      if (signal.aborted) throw err;
      failure = `callback ${url} failed: ${(err as Error).message}`;
    }
    if (attempt < opts.attempts) await sleep(Math.min(opts.maxWaitMs, wait ?? opts.minWaitMs * 2 ** (attempt - 1)), undefined, { signal });
  }
  return failure;
}
