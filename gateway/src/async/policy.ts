/**
 * Per-function async settings from annotations: OpenFaaS Pro's retry annotations
 * (`com.openfaas.retry.attempts|codes|min_wait|max_wait`) and `com.openfaas.queue.max_inflight`,
 * plus the backoff (exponential, equal jitter, Retry-After honoured).
 */
import { ANNOTATIONS, backoffDelay, parseDuration } from '@spindle/schemas';
import { BadRequestError } from '../errors.ts';
import type { RetryPolicy } from './types.ts';

/** OpenFaaS Pro's queue-worker defaults, with 503 added to the retried codes. */
export const RETRY_DEFAULTS: RetryPolicy = { attempts: 10, codes: [408, 429, 500, 502, 503, 504], minWaitMs: 10_000, maxWaitMs: 120_000 };

function field(key: string, message: string): BadRequestError {
  return new BadRequestError(`field "annotations.${key}" ${message}`);
}

function whole(annotations: Record<string, string>, key: string, fallback: number, min: number): number {
  const raw = annotations[key];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) throw field(key, `must be a whole number of at least ${min}, got "${raw}"`);
  return Number(raw);
}

function duration(annotations: Record<string, string>, key: string, fallback: number): number {
  const raw = annotations[key];
  if (raw === undefined || raw === '') return fallback;
  const ms = parseDuration(raw);
  if (ms === null) throw field(key, `must be a duration like "10s" or "1m30s", got "${raw}"`);
  return ms;
}

/** A function's async settings; a malformed annotation is a 400 that names it. */
export function asyncPolicy(annotations: Record<string, string> | undefined, defaultMaxInflight: number): { maxInflight: number; retry: RetryPolicy } {
  const a = annotations ?? {};
  const maxInflight = whole(a, ANNOTATIONS.maxInflight, defaultMaxInflight, 1);
  const attempts = whole(a, ANNOTATIONS.retryAttempts, RETRY_DEFAULTS.attempts, 1);
  let codes = RETRY_DEFAULTS.codes;
  const rawCodes = a[ANNOTATIONS.retryCodes];
  if (rawCodes !== undefined && rawCodes.trim() !== '') {
    codes = rawCodes.split(',').map((c) => c.trim()).filter(Boolean).map(Number);
    if (codes.some((c) => !Number.isInteger(c) || c < 100 || c > 599)) throw field(ANNOTATIONS.retryCodes, `must be a comma-separated list of HTTP status codes, got "${rawCodes}"`);
  }
  const minWaitMs = duration(a, ANNOTATIONS.retryMinWait, RETRY_DEFAULTS.minWaitMs);
  const maxWaitMs = duration(a, ANNOTATIONS.retryMaxWait, Math.max(RETRY_DEFAULTS.maxWaitMs, minWaitMs));
  if (maxWaitMs < minWaitMs) throw field(ANNOTATIONS.retryMaxWait, `(${maxWaitMs} ms) must be at least ${ANNOTATIONS.retryMinWait} (${minWaitMs} ms)`);
  return { maxInflight, retry: { attempts, codes, minWaitMs, maxWaitMs } };
}

/** Milliseconds a `Retry-After` header asks for (delay-seconds or an HTTP date), or null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return null;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

// A Retry-After is honoured even past max_wait, but not past a day.
const RETRY_AFTER_CAP_MS = 24 * 3_600_000;

/**
 * How long to wait before retrying after failed attempt `attempt` (1-based): the shared backoff between
 * `min_wait` and `max_wait` (see backoffDelay); a Retry-After replaces it, never below `min_wait`.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfterMs: number | null, random = Math.random): number {
  if (retryAfterMs !== null) return Math.min(RETRY_AFTER_CAP_MS, Math.max(policy.minWaitMs, retryAfterMs));
  return backoffDelay(attempt, { minMs: policy.minWaitMs, maxMs: policy.maxWaitMs }, random);
}
