/**
 * Rules that several packages need, written once (gateway, CLI, runtime, GPU runner): function names
 * and the namespace, label and annotation keys, durations, and the retry backoff. Pure functions with
 * no dependencies, so a function bundle can import them (`@spindle/schemas/contracts`) without the
 * platform's validators.
 */

/** The one namespace Spindle has (OpenFaaS's default for functions). */
export const NAMESPACE = 'openfaas-fn';

/** OpenFaaS labels Spindle reads (stack.yml `labels:`, deploy requests' `labels`). */
export const LABELS = {
  scaleMin: 'com.openfaas.scale.min',
  scaleMax: 'com.openfaas.scale.max',
  scaleTarget: 'com.openfaas.scale.target',
  scaleType: 'com.openfaas.scale.type',
  scaleTargetProportion: 'com.openfaas.scale.target-proportion',
  scaleZero: 'com.openfaas.scale.zero',
  scaleZeroDuration: 'com.openfaas.scale.zero-duration',
  scaleDownWindow: 'com.openfaas.scale.down.window',
} as const;

/** OpenFaaS annotations Spindle reads (stack.yml `annotations:`, deploy requests' `annotations`). */
export const ANNOTATIONS = {
  timeout: 'com.openfaas.timeout',
  maxInflight: 'com.openfaas.queue.max_inflight',
  retryAttempts: 'com.openfaas.retry.attempts',
  retryCodes: 'com.openfaas.retry.codes',
  retryMinWait: 'com.openfaas.retry.min_wait',
  retryMaxWait: 'com.openfaas.retry.max_wait',
} as const;

/** True when `name` is a DNS-1123 label: the only names Spindle accepts for functions, graphs and secrets. */
export function isValidName(name: string): boolean {
  return name.length > 0 && name.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name);
}

/** Why a function reference was refused: `invalid` (a 400) or `namespace` (another namespace: a 404). */
export interface NameProblem {
  kind: 'invalid' | 'namespace';
  message: string;
}

/**
 * Reads `NAME` or `NAME.openfaas-fn` (as OpenFaaS routes and faas-cli send them) into the bare name, or
 * says what is wrong with it. Every route that takes a function name uses this, so they all answer alike.
 * @example parseFunctionRef('echo.openfaas-fn') // { name: 'echo' }
 */
export function parseFunctionRef(raw: string): { name: string; problem?: undefined } | { name?: undefined; problem: NameProblem } {
  const dot = raw.indexOf('.');
  const name = dot < 0 ? raw : raw.slice(0, dot);
  const namespace = dot < 0 ? undefined : raw.slice(dot + 1);
  if (!isValidName(name)) {
    const shown = name.length > 80 ? `${name.slice(0, 80)}…` : name;
    return { problem: { kind: 'invalid', message: `function name ${JSON.stringify(shown)} is invalid: use lowercase letters, digits and "-" (a DNS-1123 label, at most 63 characters)` } };
  }
  if (namespace !== undefined && namespace !== NAMESPACE) {
    const shown = namespace.length > 80 ? `${namespace.slice(0, 80)}…` : namespace;
    return { problem: { kind: 'namespace', message: `namespace ${JSON.stringify(shown)} does not exist: Spindle has one namespace, ${NAMESPACE}` } };
  }
  return { name };
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * Parses a Go duration as OpenFaaS writes them (`10s`, `1m30s`, `500ms`, `1.5h`) or a bare number of
 * seconds (`30`); null when malformed. `exec_timeout`, `com.openfaas.timeout`, the retry annotations
 * and `com.openfaas.scale.zero-duration` all read through this.
 * @example parseDuration('1m30s') // 90000
 */
export function parseDuration(value: string): number | null {
  const v = value.trim();
  if (v.length > 64) return null;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(v)) return null;
  let ms = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return Math.round(ms);
}

/** What the autoscaler measures: requests per second, requests in flight, or CPU (millicores, 1000 = one core). */
export const SCALE_TYPES = ['rps', 'capacity', 'cpu'] as const;
export type ScaleType = (typeof SCALE_TYPES)[number];

/** A function's scaling rules, read from its `com.openfaas.scale.*` labels. */
export interface ScalingRules {
  /** Fewest replicas while the function runs (0: deployed at zero, woken by its first call). */
  min: number;
  /** Most replicas. `min === max` is static scaling: the autoscaler leaves the count alone. */
  max: number;
  /** Load per replica to aim for, in the unit of `type`. */
  target: number;
  type: ScaleType;
  /** Share of `target` at which to scale: 0.9 adds replicas at 90% of the target. */
  targetProportion: number;
  /** Whether the function is scaled to zero after `zeroDurationMs` without a call. */
  zero: boolean;
  zeroDurationMs: number;
  /** Stabilisation window for scaling down; null: the gateway's default. */
  downWindowMs: number | null;
}

/**
 * Defaults of the OpenFaaS Pro autoscaler (docs.openfaas.com/architecture/autoscaling): min 1, max 20,
 * target 50, type rps, target-proportion 0.90, zero false, zero-duration 15m.
 */
export const SCALING_DEFAULTS: Readonly<Omit<ScalingRules, 'downWindowMs'>> = {
  min: 1,
  max: 20,
  target: 50,
  type: 'rps',
  targetProportion: 0.9,
  zero: false,
  zeroDurationMs: 15 * 60_000,
};
/** Upper bound of `com.openfaas.scale.max`: each replica is a process on this machine. */
export const MAX_REPLICAS_LIMIT = 1000;
/** Longest `com.openfaas.scale.down.window` (OpenFaaS's own bound). */
export const MAX_DOWN_WINDOW_MS = 5 * 60_000;

/** Why a label was refused: the label's key and what is wrong (`must be ...`). */
export interface LabelProblem {
  label: string;
  message: string;
}

const shown = (raw: string) => JSON.stringify(raw.length > 64 ? `${raw.slice(0, 64)}…` : raw);
// Go's strconv.ParseBool, which OpenFaaS uses for its boolean labels.
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/**
 * Reads the `com.openfaas.scale.*` labels into scaling rules, with OpenFaaS Pro's defaults for the ones
 * not set, or names the first label that is wrong. The gateway (deploy: a 400 naming the label) and the
 * autoscaler read scaling through this only.
 * @example parseScaling({ 'com.openfaas.scale.type': 'capacity', 'com.openfaas.scale.target': '5' }).rules?.target // 5
 */
export function parseScaling(labels: Record<string, string> | undefined): { rules: ScalingRules; problem?: undefined } | { rules?: undefined; problem: LabelProblem } {
  const l = labels ?? {};
  let problem: LabelProblem | undefined;
  const fail = (label: string, message: string) => {
    problem ??= { label, message };
    return NaN;
  };
  const whole = (label: string, fallback: number) => {
    const raw = l[label];
    if (raw === undefined) return fallback;
    return /^\d{1,9}$/.test(raw.trim()) ? Number(raw) : fail(label, `must be a whole number, got ${shown(raw)}`);
  };
  const positive = (label: string, fallback: number, max: number) => {
    const raw = l[label];
    if (raw === undefined) return fallback;
    const n = /^\d{1,12}(\.\d{1,12})?$/.test(raw.trim()) ? Number(raw) : NaN;
    if (!(n > 0 && n <= max)) return fail(label, `must be a number above 0 and at most ${max}, got ${shown(raw)}`);
    return n;
  };
  const duration = (label: string, min: number, max: number) => {
    const raw = l[label];
    if (raw === undefined) return null;
    const ms = parseDuration(raw);
    if (ms === null) return fail(label, `must be a duration like "30s", "5m" or "1m30s", got ${shown(raw)}`);
    if (ms < min) return fail(label, `must be longer than 0, got ${shown(raw)}`);
    if (ms > max) return fail(label, `must be at most ${max / 60_000}m, got ${shown(raw)}`);
    return ms;
  };

  const min = whole(LABELS.scaleMin, SCALING_DEFAULTS.min);
  const max = whole(LABELS.scaleMax, SCALING_DEFAULTS.max);
  if (max > MAX_REPLICAS_LIMIT) fail(LABELS.scaleMax, `must be at most ${MAX_REPLICAS_LIMIT} (each replica is a process on this machine), got ${max}`);
  if (max < Math.max(min, 1)) fail(LABELS.scaleMax, `(${max}) must be at least ${LABELS.scaleMin} (${min}) and 1`);
  const rawType = l[LABELS.scaleType];
  const type = rawType === undefined ? SCALING_DEFAULTS.type : (SCALE_TYPES as readonly string[]).includes(rawType) ? (rawType as ScaleType) : undefined;
  if (!type) fail(LABELS.scaleType, `must be one of ${SCALE_TYPES.join(', ')}, got ${shown(rawType!)}`);
  const target = positive(LABELS.scaleTarget, SCALING_DEFAULTS.target, 1e9);
  const targetProportion = positive(LABELS.scaleTargetProportion, SCALING_DEFAULTS.targetProportion, 1);
  const rawZero = l[LABELS.scaleZero];
  const zero = rawZero === undefined ? SCALING_DEFAULTS.zero : TRUE.has(rawZero) ? true : FALSE.has(rawZero) ? false : undefined;
  if (zero === undefined) fail(LABELS.scaleZero, `must be true or false, got ${shown(rawZero!)}`);
  const zeroDurationMs = duration(LABELS.scaleZeroDuration, 1, Number.MAX_SAFE_INTEGER) ?? SCALING_DEFAULTS.zeroDurationMs;
  const downWindowMs = duration(LABELS.scaleDownWindow, 0, MAX_DOWN_WINDOW_MS);
  if (problem) return { problem };
  return { rules: { min, max, target, type: type!, targetProportion, zero: zero!, zeroDurationMs, downWindowMs } };
}

/** Bounds of an exponential backoff: the first wait and the largest. */
export interface Backoff {
  minMs: number;
  maxMs: number;
}

/**
 * How long to wait before retrying after failed attempt `attempt` (1-based): a step of
 * `minMs * 2^(attempt-1)` capped at `maxMs`, with equal jitter (half of the step fixed, half random) and
 * never less than `minMs`, so retries of calls that failed together spread out. Async retries
 * (`com.openfaas.retry.min_wait`/`max_wait`) and graph node retries (`retry.backoffMs`) both wait this long.
 * @example backoffDelay(3, { minMs: 200, maxMs: 10_000 }) // 400..800
 */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const step = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(backoff.minMs, Math.round(step / 2 + random() * (step / 2)));
}
