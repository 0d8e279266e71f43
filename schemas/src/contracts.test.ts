import { describe, expect, it } from 'vitest';
import { backoffDelay, isValidName, parseDuration, parseFunctionRef } from './contracts.ts';

describe('function references', () => {
  it('reads NAME and NAME.openfaas-fn alike; another namespace and a bad name are told apart', () => {
    expect(parseFunctionRef('echo')).toEqual({ name: 'echo' });
    expect(parseFunctionRef('echo.openfaas-fn')).toEqual({ name: 'echo' });
    expect(parseFunctionRef('echo.other').problem).toMatchObject({ kind: 'namespace', message: expect.stringContaining('namespace "other" does not exist') });
    expect(parseFunctionRef('Echo').problem?.kind).toBe('invalid');
    expect(parseFunctionRef('../etc').problem?.kind).toBe('invalid');
    expect(parseFunctionRef('').problem?.kind).toBe('invalid');
    expect(parseFunctionRef('a'.repeat(64)).problem?.kind).toBe('invalid');
    expect(parseFunctionRef('x'.repeat(5000)).problem!.message.length).toBeLessThan(200);
    expect(isValidName('a-1')).toBe(true);
    expect(isValidName('-a')).toBe(false);
  });
});

describe('durations', () => {
  it('reads Go durations, compound ones included, and bare seconds', () => {
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1h2m3s')).toBe(3_723_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('30')).toBe(30_000);
    expect(parseDuration(' 10s ')).toBe(10_000);
    expect(parseDuration('1 minute')).toBeNull();
    expect(parseDuration('-5s')).toBeNull();
    expect(parseDuration(`${'1'.repeat(100)}s`)).toBeNull();
  });
});

describe('backoff', () => {
  it('doubles from minMs with equal jitter, capped at maxMs, never below minMs', () => {
    const b = { minMs: 200, maxMs: 1000 };
    expect(backoffDelay(1, b, () => 0)).toBe(200);
    expect(backoffDelay(1, b, () => 1)).toBe(200);
    expect(backoffDelay(3, b, () => 0)).toBe(400);
    expect(backoffDelay(3, b, () => 1)).toBe(800);
    expect(backoffDelay(10, b, () => 1)).toBe(1000);
    expect(backoffDelay(10, b, () => 0)).toBe(500);
    for (let i = 1; i < 50; i++) {
      const d = backoffDelay(i, b);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });
});
