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
