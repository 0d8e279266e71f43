/** configFromEnv: credentials from `<NAME>_FILE` (compose and Kubernetes secrets) and the provider choice. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromEnv, trustProxyOf } from './config.ts';

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

  it('reads SPINDLE_TRUST_PROXY as fastify trustProxy: unset or off trusts no proxy, true or addresses trust those', () => {
    expect([undefined, '', 'false', '0', 'off'].map(trustProxyOf)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(['true', '1', 'yes'].map(trustProxyOf)).toEqual([true, true, true]);
    expect(trustProxyOf(' 10.0.0.0/8, 127.0.0.1 ')).toBe('10.0.0.0/8, 127.0.0.1');
  });

  it('reads SPINDLE_PUBLIC_URL without its trailing slash, and names the variable when it is not an http URL', () => {
    expect(configFromEnv({ SPINDLE_PUBLIC_URL: 'http://gateway:8080/' }).publicUrl).toBe('http://gateway:8080');
    expect(configFromEnv({}).publicUrl).toBeUndefined();
    expect(() => configFromEnv({ SPINDLE_PUBLIC_URL: 'gateway:8080' })).toThrow(/SPINDLE_PUBLIC_URL/);
    expect(() => configFromEnv({ SPINDLE_PUBLIC_URL: 'ftp://gateway' })).toThrow('SPINDLE_PUBLIC_URL must be an http:// or https:// URL');
  });
});
