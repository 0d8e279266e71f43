import { describe, expect, it } from 'vitest';
import { ANNOTATIONS, parseDuration } from '@spindle/schemas';
import { RETRY_DEFAULTS, asyncPolicy, parseRetryAfter, retryDelay } from './policy.ts';

describe('async policy', () => {
  it('uses OpenFaaS Pro defaults without annotations', () => {
    expect(asyncPolicy(undefined, 16)).toEqual({ maxInflight: 16, retry: RETRY_DEFAULTS });
    expect(RETRY_DEFAULTS.codes).toEqual([408, 429, 500, 502, 503, 504]);
  });

  it('reads the retry and max_inflight annotations', () => {
    const p = asyncPolicy({ [ANNOTATIONS.maxInflight]: '2', [ANNOTATIONS.retryAttempts]: '3', [ANNOTATIONS.retryCodes]: '429, 503', [ANNOTATIONS.retryMinWait]: '250ms', [ANNOTATIONS.retryMaxWait]: '1m30s' }, 16);
    expect(p).toEqual({ maxInflight: 2, retry: { attempts: 3, codes: [429, 503], minWaitMs: 250, maxWaitMs: 90_000 } });
  });

  it('names the malformed annotation in a 400', () => {
    expect(() => asyncPolicy({ [ANNOTATIONS.retryAttempts]: 'three' }, 1)).toThrow(/annotations\.com\.openfaas\.retry\.attempts/);
    expect(() => asyncPolicy({ [ANNOTATIONS.maxInflight]: '0' }, 1)).toThrow(/max_inflight.*at least 1/);
    expect(() => asyncPolicy({ [ANNOTATIONS.retryCodes]: '500,abc' }, 1)).toThrow(/retry\.codes/);
    expect(() => asyncPolicy({ [ANNOTATIONS.retryMinWait]: 'soon' }, 1)).toThrow(/min_wait/);
    expect(() => asyncPolicy({ [ANNOTATIONS.retryMinWait]: '10s', [ANNOTATIONS.retryMaxWait]: '1s' }, 1)).toThrow(/max_wait/);
  });

  it('parses Go-style durations', () => {
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('1h2m3s')).toBe(3_723_000);
    expect(parseDuration('1.5')).toBe(1500);
    expect(parseDuration('1 minute')).toBeNull();
  });

  it('backs off exponentially with equal jitter, within [min_wait, max_wait]', () => {
    const policy = { attempts: 10, codes: [503], minWaitMs: 1000, maxWaitMs: 8000 };
    expect(retryDelay(policy, 1, null, () => 0)).toBe(1000);
    expect(retryDelay(policy, 3, null, () => 0)).toBe(2000);
    expect(retryDelay(policy, 3, null, () => 1)).toBe(4000);
    expect(retryDelay(policy, 9, null, () => 1)).toBe(8000);
    for (let i = 0; i < 100; i++) {
      const d = retryDelay(policy, 1 + (i % 8), null);
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });

  it('honours Retry-After (seconds or a date), never below min_wait', () => {
    const policy = { attempts: 3, codes: [429], minWaitMs: 2000, maxWaitMs: 4000 };
    expect(retryDelay(policy, 1, parseRetryAfter('30'), () => 0)).toBe(30_000);
    expect(retryDelay(policy, 1, parseRetryAfter('1'), () => 0)).toBe(2000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('later')).toBeNull();
    expect(parseRetryAfter(undefined)).toBeNull();
  });
});
