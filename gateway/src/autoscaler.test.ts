/** The autoscaler's decision, turn by turn, without processes: OpenFaaS Pro's formula, the down window, scale to zero. */
import { describe, expect, it } from 'vitest';
import { parseScaling, type ScalingRules } from '@spindle/schemas';
import { decide, freshState, type ScaleState } from './autoscaler.ts';

const rules = (labels: Record<string, string>): ScalingRules => parseScaling(labels).rules!;

/** Runs turns one second apart; returns the desired count after each, applying it as the next `current`. */
function turns(r: ScalingRules, loads: number[], opts: { current?: number; downWindowMs?: number; state?: ScaleState } = {}): number[] {
  const state = opts.state ?? freshState(0);
  let current = opts.current ?? r.min;
  return loads.map((load, i) => {
    const { desired } = decide({ rules: r, current, load, active: load > 0, now: (i + 1) * 1000, downWindowMs: opts.downWindowMs ?? 3000 }, state);
    current = desired;
    state.lastSeen = desired;
    return desired;
  });
}

describe('autoscaler decision', () => {
  it('asks for ceil(load / (target × proportion)) replicas within [min, max]', () => {
    // OpenFaaS's worked example: capacity, target 5, proportion 1.0, 15 in flight → 3 replicas.
    const capacity = rules({ 'com.openfaas.scale.type': 'capacity', 'com.openfaas.scale.target': '5', 'com.openfaas.scale.target-proportion': '1.0' });
    expect(turns(capacity, [15])).toEqual([3]);
    // Default rps: 50 × 0.9 = 45 per replica; 100 rps → 3; max 20 caps a flood; no load → min.
    expect(turns(rules({}), [100])).toEqual([3]);
    expect(turns(rules({}), [10_000])).toEqual([20]);
    expect(turns(rules({ 'com.openfaas.scale.min': '2' }), [0])).toEqual([2]);
  });

  it('scales up at once and down only after the window, to the highest recommendation in it', () => {
    const r = rules({ 'com.openfaas.scale.type': 'capacity', 'com.openfaas.scale.target': '1', 'com.openfaas.scale.target-proportion': '1' });
    // Load 4 then nothing: up to 4 on the first turn, held while the window (3 s, ends included) still holds a 4, then down.
    expect(turns(r, [4, 0, 0, 0, 0, 0])).toEqual([4, 4, 4, 4, 1, 1]);
    // A dip inside the window steps down to what the window still asks for.
    expect(turns(r, [6, 3, 3, 3, 3, 1, 1, 1, 1])).toEqual([6, 6, 6, 6, 3, 3, 3, 3, 1]);
    // No window: follows the load down at once.
    expect(turns(r, [4, 0], { downWindowMs: 0 })).toEqual([4, 1]);
  });

  it('goes to zero after zero-duration without a call, and leaves a function at zero until a call wakes it', () => {
    const r = rules({ 'com.openfaas.scale.zero': 'true', 'com.openfaas.scale.zero-duration': '3s' });
    expect(turns(r, [1, 0, 0, 0, 0, 0])).toEqual([1, 1, 1, 0, 0, 0]);
    // Without the label it stays at min.
    expect(turns(rules({}), [1, 0, 0, 0, 0, 0])).toEqual([1, 1, 1, 1, 1, 1]);
    // A manual scale to zero holds even without the label.
    expect(turns(rules({}), [0, 0], { current: 0 })).toEqual([0, 0]);
  });

  it('holds a manual scale-up for the window, then takes over; static functions keep their count', () => {
    const r = rules({ 'com.openfaas.scale.max': '10' });
    const state = freshState(0);
    state.lastSeen = 1;
    // Someone set 5 (current differs from what was last seen): held while the window remembers it.
    expect(turns(r, [0, 0, 0, 0, 0], { current: 5, state })).toEqual([5, 5, 5, 5, 1]);
    // min = max: static, whatever the load; back to that count after a wake from zero.
    const fixed = rules({ 'com.openfaas.scale.min': '3', 'com.openfaas.scale.max': '3' });
    expect(turns(fixed, [1000, 0])).toEqual([3, 3]);
    expect(turns(fixed, [1], { current: 1 })).toEqual([3]);
  });
});

describe('parseScaling', () => {
  it('has OpenFaaS Pro defaults', () => {
    expect(parseScaling({}).rules).toEqual({ min: 1, max: 20, target: 50, type: 'rps', targetProportion: 0.9, zero: false, zeroDurationMs: 900_000, downWindowMs: null });
    expect(
      parseScaling({
        'com.openfaas.scale.min': '0',
        'com.openfaas.scale.max': '5',
        'com.openfaas.scale.target': '2.5',
        'com.openfaas.scale.type': 'cpu',
        'com.openfaas.scale.target-proportion': '1',
        'com.openfaas.scale.zero': 'True',
        'com.openfaas.scale.zero-duration': '1m30s',
        'com.openfaas.scale.down.window': '0s',
      }).rules,
    ).toEqual({ min: 0, max: 5, target: 2.5, type: 'cpu', targetProportion: 1, zero: true, zeroDurationMs: 90_000, downWindowMs: 0 });
  });

  it('names the label that is wrong', () => {
    const problem = (labels: Record<string, string>) => parseScaling(labels).problem;
    expect(problem({ 'com.openfaas.scale.min': 'two' })).toEqual({ label: 'com.openfaas.scale.min', message: 'must be a whole number, got "two"' });
    expect(problem({ 'com.openfaas.scale.max': '0' })?.label).toBe('com.openfaas.scale.max');
    expect(problem({ 'com.openfaas.scale.min': '5', 'com.openfaas.scale.max': '3' })?.message).toMatch(/must be at least com\.openfaas\.scale\.min \(5\)/);
    expect(problem({ 'com.openfaas.scale.max': '5000' })?.message).toMatch(/at most 1000/);
    expect(problem({ 'com.openfaas.scale.type': 'queue' })?.message).toBe('must be one of rps, capacity, cpu, got "queue"');
    expect(problem({ 'com.openfaas.scale.target': '0' })?.label).toBe('com.openfaas.scale.target');
    expect(problem({ 'com.openfaas.scale.target-proportion': '1.5' })?.label).toBe('com.openfaas.scale.target-proportion');
    expect(problem({ 'com.openfaas.scale.zero': 'yes' })?.label).toBe('com.openfaas.scale.zero');
    expect(problem({ 'com.openfaas.scale.zero-duration': '0s' })?.message).toMatch(/longer than 0/);
    expect(problem({ 'com.openfaas.scale.zero-duration': 'soon' })?.label).toBe('com.openfaas.scale.zero-duration');
    expect(problem({ 'com.openfaas.scale.down.window': '10m' })?.message).toMatch(/at most 5m/);
  });
});
