/**
 * What a child process inherits from the gateway's environment: an allow-list. The gateway's own
 * environment holds the admin password, the secret key, database and object-store credentials; the
 * children run function code (replicas, the GPU runner) or are third-party servers, and need none of it.
 */

/** The few variables any Node process (or server binary) needs: replicas get these and nothing else inherited. */
const BASE = ['PATH', 'HOME', 'TZ', 'LANG', 'TMPDIR', 'NODE_EXTRA_CA_CERTS'];

/** What a child may inherit beyond BASE: exact names and name prefixes. */
export interface InheritRule {
  names?: readonly string[];
  prefixes?: readonly string[];
}

/**
 * The GPU runner's extra: its own settings (SPINDLE_GPU_*; REDIS_URL, SPINDLE_REDIS_PREFIX and LOG_LEVEL
 * are passed explicitly from the gateway's config) and what CUDA and onnxruntime's loader read.
 */
export const GPU_RUNNER_ENV: InheritRule = { names: ['LD_LIBRARY_PATH'], prefixes: ['SPINDLE_GPU_', 'CUDA_', 'NVIDIA_'] };

/**
 * The allow-listed part of `env`: BASE plus what `rule` names; everything else (SPINDLE_ADMIN_PASSWORD,
 * SPINDLE_SECRET_KEY, DATABASE_URL, S3_*...) stays in the gateway.
 * @example spawn(cmd, args, { env: { ...inheritedEnv(GPU_RUNNER_ENV), REDIS_URL: config.redisUrl } })
 */
export function inheritedEnv(rule: InheritRule = {}, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const names = new Set([...BASE, ...(rule.names ?? [])]);
  const prefixes = rule.prefixes ?? [];
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && (names.has(k) || prefixes.some((p) => k.startsWith(p)))) out[k] = v;
  }
  return out;
}
