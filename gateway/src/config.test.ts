/** configFromEnv: credentials from `<NAME>_FILE` (compose and Kubernetes secrets) and the provider choice. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromEnv } from './config.ts';

describe('configFromEnv', () => {
  it('reads credentials from <NAME>_FILE, the variable itself winning, and names an unreadable file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spindle-config-'));
    await writeFile(join(dir, 'pw'), 'from-file\n');
    await writeFile(join(dir, 'url'), 'postgres://spindle:x@postgres:5432/spindle');
    const c = configFromEnv({ SPINDLE_ADMIN_PASSWORD_FILE: join(dir, 'pw'), DATABASE_URL_FILE: join(dir, 'url') });
    expect(c.adminPassword).toBe('from-file');
    expect(c.databaseUrl).toBe('postgres://spindle:x@postgres:5432/spindle');
    expect(configFromEnv({ SPINDLE_ADMIN_PASSWORD: 'direct', SPINDLE_ADMIN_PASSWORD_FILE: join(dir, 'pw') }).adminPassword).toBe('direct');
    expect(() => configFromEnv({ S3_SECRET_KEY_FILE: join(dir, 'missing') })).toThrow(/S3_SECRET_KEY_FILE names .*missing, which cannot be read: ENOENT/);
  });

  it('selects the Kubernetes provider only with its runtime image, and refuses an unknown provider', () => {
    expect(configFromEnv({}).provider).toBe('local');
    const k = configFromEnv({ SPINDLE_PROVIDER: 'kubernetes', SPINDLE_RUNTIME_IMAGE: 'spindle/runtime:0.1.0', SPINDLE_K8S_NAMESPACE: 'fns' });
    expect(k.kubernetes).toEqual({ namespace: 'fns', runtimeImage: 'spindle/runtime:0.1.0', objectStoreSecret: 'spindle-object-store', gatewayUrl: 'http://gateway.spindle.svc:8080' });
    expect(() => configFromEnv({ SPINDLE_PROVIDER: 'kubernetes' })).toThrow(/SPINDLE_RUNTIME_IMAGE/);
    expect(() => configFromEnv({ SPINDLE_PROVIDER: 'nomad' })).toThrow(/SPINDLE_PROVIDER must be local or kubernetes/);
  });
});
