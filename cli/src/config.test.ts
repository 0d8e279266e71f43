import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configDir, dataDir, removeLogin, resolveCredentials, resolveGateway, saveLogin } from './config.ts';

describe('credentials', () => {
  let dir: string;
  let config: string;
  let data: string;
  const gateway = 'http://127.0.0.1:8080';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'spindle-config-'));
    config = path.join(dir, 'config');
    data = path.join(dir, 'project/.spindle');
    await mkdir(data, { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const lookup = (env: Record<string, string> = {}, gw = gateway) => resolveCredentials({ gateway: gw, env, configDir: config, dataDir: data });

  it('looks in SPINDLE_ADMIN_PASSWORD, then the stored login, then the data dir', async () => {
    expect(await lookup()).toBeUndefined();
    await writeFile(path.join(data, 'admin-password'), 'from-data-dir\n');
    expect(await lookup()).toEqual({ user: 'admin', password: 'from-data-dir', source: 'data-dir' });
    await saveLogin(config, `${gateway}/`, 'admin', 'from-login');
    expect(await lookup()).toEqual({ user: 'admin', password: 'from-login', source: 'login' });
    expect(await lookup({ SPINDLE_ADMIN_PASSWORD: 'from-env' })).toEqual({ user: 'admin', password: 'from-env', source: 'env' });
    expect(await removeLogin(config, gateway)).toBe(true);
    expect(await removeLogin(config, gateway)).toBe(false);
    expect((await lookup())?.source).toBe('data-dir');
  });

  it('keeps logins per gateway in a 0600 file', async () => {
    const file = await saveLogin(config, 'https://faas.example.com', 'admin', 'remote');
    await saveLogin(config, gateway, 'admin', 'local');
    expect(file).toBe(path.join(config, 'credentials.json'));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      gateways: { 'https://faas.example.com': { user: 'admin', password: 'remote' }, [gateway]: { user: 'admin', password: 'local' } },
    });
    expect((await lookup({}, 'https://faas.example.com'))?.password).toBe('remote');
  });

  it('never sends the local admin password to a remote gateway', async () => {
    await writeFile(path.join(data, 'admin-password'), 'local-secret');
    expect(await lookup({}, 'https://faas.example.com')).toBeUndefined();
    expect((await lookup({}, 'http://localhost:8080'))?.password).toBe('local-secret');
  });

  it('finds the config and data dirs from the environment', () => {
    expect(configDir({ SPINDLE_CONFIG_DIR: config })).toBe(config);
    expect(configDir({})).toBe(path.join(os.homedir(), '.spindle'));
    expect(dataDir({}, '/srv/app')).toBe('/srv/app/.spindle');
    expect(dataDir({ SPINDLE_DATA_DIR: data }, '/srv/app')).toBe(data);
  });
});

describe('resolveGateway', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'spindle-gw-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prefers the flag, then OPENFAAS_URL, then provider.gateway, then the default', async () => {
    const stackFile = path.join(dir, 'stack.yml');
    await writeFile(stackFile, 'provider:\n  name: spindle\n  gateway: http://stack:1/\nfunctions: {}\n');
    const env = { OPENFAAS_URL: 'http://env:2' };
    expect(await resolveGateway({ flag: 'http://flag:3/', env, stackFile })).toBe('http://flag:3');
    expect(await resolveGateway({ env, stackFile })).toBe('http://env:2');
    expect(await resolveGateway({ env: {}, stackFile })).toBe('http://stack:1');
    expect(await resolveGateway({ env: {}, stackFile: path.join(dir, 'missing.yml') })).toBe('http://127.0.0.1:8080');
  });
});
