/** Builds the `ctx` a handler receives: logger, progress, artifacts, secrets, abort signal. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { LazyLogger } from './deferred.ts';
import { HttpError } from './errors.ts';
import type { Artifacts, FunctionContext, RawRequest } from './types.ts';

/** Where a replica finds what the gateway gave it; read once from the environment in `serve`. */
export interface ReplicaEnv {
  name: string;
  secretsDir: string | undefined;
  artifactsUrl: string | undefined;
  artifactsToken: string | undefined;
}

const KEY = /^(?!\/)(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._\-/]{1,512}$/;

function checkKey(key: string): string {
  if (!KEY.test(key) || key.endsWith('/')) throw new HttpError(400, `artifact key "${key}" is invalid: use letters, digits, ".", "_", "-" and "/", no ".."`);
  return key;
}

/**
 * Artifacts through the gateway's `/internal/artifacts` (`base`), which owns the object store: replicas and the
 * GPU runner hold no storage credentials, only the gateway's token. Without `base`, every call fails saying so.
 */
export function artifactClient(base: string | undefined, token: string | undefined, missingWhy = 'the replica was started without SPINDLE_ARTIFACTS_URL'): Artifacts {
  const headers = { authorization: `Bearer ${token ?? ''}` };
  const missing = () => new HttpError(500, `artifacts are not available: ${missingWhy}`);
  return {
    async put(key, data, contentType = 'application/octet-stream') {
      if (!base) throw missing();
      const body = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const res = await fetch(`${base}/${checkKey(key)}`, { method: 'PUT', headers: { ...headers, 'content-type': contentType }, body: new Uint8Array(body) });
      if (!res.ok) throw new HttpError(502, `storing artifact "${key}" failed: ${res.status} ${await res.text()}`);
      return { key, size: body.length };
    },
    async get(key) {
      if (!base) throw missing();
      const res = await fetch(`${base}/${checkKey(key)}`, { headers });
      if (res.status === 404) return null;
      if (!res.ok) throw new HttpError(502, `reading artifact "${key}" failed: ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    },
  };
}

/** Creates the context for one call. */
export function makeContext(
  env: ReplicaEnv,
  logger: LazyLogger,
  callId: string,
  request: Omit<RawRequest, 'body'>,
  signal: AbortSignal,
): FunctionContext {
  // The call's child logger is made when the handler first logs (most calls never do).
  let log: Logger | null = null;
  const callLog = () => (log ??= logger.get().child({ callId }));
  return {
    callId,
    name: env.name,
    get logger() {
      return callLog();
    },
    request,
    signal,
    artifacts: artifactClient(env.artifactsUrl, env.artifactsToken),
    progress(fraction, message) {
      const f = Math.max(0, Math.min(1, Number(fraction) || 0));
      callLog().info({ progress: f }, message ?? 'progress');
      process.send?.({ type: 'progress', callId, fraction: f, message: message ?? null });
    },
    async secret(secretName) {
      if (!env.secretsDir || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(secretName)) {
        throw new HttpError(500, `secret "${secretName}" is not available to ${env.name}: add it to the function's secrets`);
      }
      try {
        return await readFile(join(env.secretsDir, secretName), 'utf8');
      } catch {
        throw new HttpError(500, `secret "${secretName}" is not available to ${env.name}: add it to the function's secrets`);
      }
    },
  };
}
