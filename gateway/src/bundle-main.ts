/**
 * The generic function runtime (infra/runtime.Dockerfile): starts ONE function from its bundle digest, fetched
 * from the object store, so the same image runs any Spindle function under docker compose, Kubernetes or a real
 * OpenFaaS cluster. It listens on 8080 with OpenFaaS's health path (`/_/health`, served by the bundle's watchdog).
 *
 * Environment: SPINDLE_BUNDLE=sha256:<hex> (required), S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET
 * (default `spindle`), S3_REGION (either key also as a file: S3_ACCESS_KEY_FILE, S3_SECRET_KEY_FILE); SPINDLE_BUNDLE_DIR (default: the temp dir) for the downloaded copy. PORT and
 * HOST default to 8080 and 0.0.0.0; everything else (exec_timeout, SPINDLE_FUNCTION_NAME, SPINDLE_SECRETS_DIR)
 * reaches the watchdog unchanged.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleKey } from './store/repositories.ts';
import { S3BlobStore, s3ClientFromUrl } from './store/s3.ts';

/** What the runtime needs from its environment; a missing or malformed value is named in the thrown message. */
export interface BundleMainConfig {
  hex: string;
  s3: { endpoint: string; accessKey: string; secretKey: string; bucket: string; region?: string };
  dir: string;
}

/** `env[name]`, or the content of the file `env[name_FILE]` names (an OpenFaaS or Kubernetes secret). */
function secretVar(env: NodeJS.ProcessEnv, name: string): string {
  if (env[name] || !env[`${name}_FILE`]) return env[name] ?? '';
  try {
    return readFileSync(env[`${name}_FILE`]!, 'utf8').trim();
  } catch (err) {
    throw new Error(`${name}_FILE names ${env[`${name}_FILE`]}, which cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Reads SPINDLE_BUNDLE and S3_* (keys also as S3_ACCESS_KEY_FILE, S3_SECRET_KEY_FILE); throws naming the variable that is missing or malformed. */
export function bundleMainConfig(env: NodeJS.ProcessEnv): BundleMainConfig {
  const digest = env.SPINDLE_BUNDLE ?? '';
  const m = /^(?:bundle:\/\/)?sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new Error(`SPINDLE_BUNDLE must be sha256:<64 hex digits> (or bundle://sha256:…), got ${JSON.stringify(digest.slice(0, 80))}`);
  if (!env.S3_ENDPOINT) throw new Error('S3_ENDPOINT must name the object store holding the bundle (e.g. http://minio:9000)');
  return {
    hex: m[1],
    s3: {
      endpoint: env.S3_ENDPOINT,
      accessKey: secretVar(env, 'S3_ACCESS_KEY'),
      secretKey: secretVar(env, 'S3_SECRET_KEY'),
      bucket: env.S3_BUCKET || 'spindle',
      region: env.S3_REGION || undefined,
    },
    dir: env.SPINDLE_BUNDLE_DIR || join(tmpdir(), 'spindle-bundle'),
  };
}

/** Downloads the bundle, checks its digest, and writes it as `<dir>/<hex>.mjs`; returns the path. */
export async function fetchBundle(config: BundleMainConfig): Promise<string> {
  const store = new S3BlobStore({ client: s3ClientFromUrl(config.s3.endpoint, config.s3.accessKey, config.s3.secretKey, config.s3.region), bucket: config.s3.bucket });
  const bytes = await store.get(bundleKey(config.hex));
  if (!bytes) throw new Error(`bundle sha256:${config.hex} is not in bucket ${config.s3.bucket} at ${config.s3.endpoint}; upload it with spindle deploy first`);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== config.hex) throw new Error(`bundle sha256:${config.hex} in the object store hashes to sha256:${actual}; refusing to run it`);
  await mkdir(config.dir, { recursive: true, mode: 0o700 });
  const path = join(config.dir, `${config.hex}.mjs`);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, bytes, { mode: 0o600 });
  await rename(tmp, path);
  return path;
}

/** Fetches the bundle and imports it: its entry point starts the watchdog on PORT (8080 unless set). */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  env.PORT ||= '8080';
  env.HOST ||= '0.0.0.0';
  const config = bundleMainConfig(env);
  const path = await fetchBundle(config);
  process.stderr.write(`spindle-runtime: starting bundle sha256:${config.hex} on ${env.HOST}:${env.PORT}\n`);
  await import(pathToFileURL(path).href);
}
