/**
 * Per-function async settings from annotations: OpenFaaS Pro's retry annotations
 * (`com.openfaas.retry.attempts|codes|min_wait|max_wait`) and `com.openfaas.queue.max_inflight`,
 * plus the backoff (exponential, equal jitter, Retry-After honoured).
 */
import { BadRequestError } from '../errors.ts';
import type { RetryPolicy } from './types.ts';

/** The annotation names. */
export const ANNOTATIONS = {
  maxInflight: 'com.openfaas.queue.max_inflight',
  attempts: 'com.openfaas.retry.attempts',
  codes: 'com.openfaas.retry.codes',
  minWait: 'com.openfaas.retry.min_wait',
  maxWait: 'com.openfaas.retry.max_wait',
} as const;

/** OpenFaaS Pro's queue-worker defaults, with 503 added to the retried codes. */
export const RETRY_DEFAULTS: RetryPolicy = { attempts: 10, codes: [408, 429, 500, 502, 503, 504], minWaitMs: 10_000, maxWaitMs: 120_000 };

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Parses a Go-style duration ("10s", "1m30s", "500ms", "0s") or a bare number of seconds; null when malformed. */
export function parseDuration(value: string): number | null {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(v)) return null;
  let ms = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return Math.round(ms);
}

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
  const attempts = whole(a, ANNOTATIONS.attempts, RETRY_DEFAULTS.attempts, 1);
  let codes = RETRY_DEFAULTS.codes;
  const rawCodes = a[ANNOTATIONS.codes];
  if (rawCodes !== undefined && rawCodes.trim() !== '') {
    codes = rawCodes.split(',').map((c) => c.trim()).filter(Boolean).map(Number);
    if (codes.some((c) => !Number.isInteger(c) || c < 100 || c > 599)) throw field(ANNOTATIONS.codes, `must be a comma-separated list of HTTP status codes, got "${rawCodes}"`);
  }
  const minWaitMs = duration(a, ANNOTATIONS.minWait, RETRY_DEFAULTS.minWaitMs);
  const maxWaitMs = duration(a, ANNOTATIONS.maxWait, Math.max(RETRY_DEFAULTS.maxWaitMs, minWaitMs));
  if (maxWaitMs < minWaitMs) throw field(ANNOTATIONS.maxWait, `(${maxWaitMs} ms) must be at least ${ANNOTATIONS.minWait} (${minWaitMs} ms)`);
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
 * How long to wait before retrying after failed attempt `attempt` (1-based): `min_wait * 2^(attempt-1)` capped
 * at `max_wait`, with equal jitter (half fixed, half random); a Retry-After replaces it, never below `min_wait`.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfterMs: number | null, random = Math.random): number {
  if (retryAfterMs !== null) return Math.min(RETRY_AFTER_CAP_MS, Math.max(policy.minWaitMs, retryAfterMs));
  const base = Math.min(policy.maxWaitMs, policy.minWaitMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(policy.minWaitMs, Math.round(base / 2 + random() * (base / 2)));
}
