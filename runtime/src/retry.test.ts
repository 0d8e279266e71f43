import { expect, it } from 'vitest';
import { RetryPacer } from './retry.ts';

it('doubles the wait up to the cap, logs the first failure and then once per interval with a count, and resets on success', () => {
  const p = new RetryPacer({ minMs: 100, maxMs: 1000, warnEveryMs: 30_000 });
  const t0 = 1_000_000;
  const runs = Array.from({ length: 6 }, (_, i) => p.failed(t0 + i * 1000));
  expect(runs.map((r) => r.delayMs)).toEqual([100, 200, 400, 800, 1000, 1000]);
  expect(runs.map((r) => r.log)).toEqual([true, false, false, false, false, false]);
  expect(p.failingFor(t0 + 5000)).toBe(5000);
  const later = p.failed(t0 + 31_000);
  expect([later.log, later.failures, later.failingMs]).toEqual([true, 6, 31_000]);
  expect(p.ok()).toBe(7);
  expect([p.ok(), p.failingFor()]).toEqual([0, 0]);
  expect(p.failed(t0 + 40_000)).toMatchObject({ delayMs: 100, log: true, failures: 1, failingMs: 0 });
});
