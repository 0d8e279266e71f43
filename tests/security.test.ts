/**
 * What the gateway keeps on disk is its owner's alone: the data dir is 0700 and its files 0600, secret
 * values are sealed (AES-256-GCM) before they reach any database, and child processes (GPU runner,
 * local Redis/NATS) get an allow-listed environment, never the admin password.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { configFromEnv, createPlatform, ensureService, natsService, startRunnerProcess } from '@spindle/gateway';
import { dropSchema, dropStreams, freePort, MACHINE_NATS } from './async-support.ts';
import { redisPrefix, REDIS_URL } from './gpu-harness.ts';
import { Api, MACHINE_PG, ROOT, spawnUntil, startPlatform, tempDir, uniqueName } from './harness.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

interface Entry {
  path: string;
  mode: number;
  kind: 'dir' | 'file' | 'other';
}

/** Every entry under `dir` (itself included), without following links. */
async function walk(dir: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const visit = async (path: string) => {
    const st = await lstat(path);
    const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    out.push({ path, mode: st.mode & 0o777, kind });
    if (kind === 'dir') for (const name of await readdir(path)) await visit(join(path, name));
  };
  await visit(dir);
  return out;
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0');
/** Entries anyone but the owner may read, write or enter, as `path 0755` lines (empty when all is private). */
const looseModes = (entries: Entry[]) => entries.filter((e) => (e.mode & 0o077) !== 0).map((e) => `${e.path} ${octal(e.mode)}`);
/** Files whose bytes contain `value`. */
async function filesContaining(entries: Entry[], value: string): Promise<string[]> {
  const needle = Buffer.from(value);
  const hits: string[] = [];
  for (const e of entries) if (e.kind === 'file' && (await readFile(e.path)).includes(needle)) hits.push(e.path);
  return hits;
}

/** The environment a process was started with, from /proc. */
async function environOf(pid: number): Promise<Record<string, string>> {
  const raw = await readFile(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(raw.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));

/** Sets variables on this process's environment for the duration of `fn`. */
async function withParentEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('the data dir', () => {
  it('npm start makes a new data dir private to its owner, and no file in it holds a secret value in plain text', async () => {
    const dataDir = join(await tempDir(), 'not-yet', '.spindle');
    const redis = redisPrefix();
    const natsPrefix = uniqueName('sec').replace('_', '');
    cleanups.push(redis.cleanup, () => dropStreams(MACHINE_NATS, natsPrefix));
    const gw = await spawnUntil(process.execPath, ['--import', 'tsx', join(ROOT, 'tests/fixtures/start-process.ts')], /listening on (\S+)/, {
      env: {
        SPINDLE_DATA_DIR: dataDir,
        PORT: '0',
        LOG_LEVEL: 'info',
        SPINDLE_REDIS_PREFIX: redis.prefix,
        SPINDLE_NATS_PREFIX: natsPrefix,
        SPINDLE_GPU_EP: 'cpu',
        SPINDLE_GPU_METRICS_PORT: '0',
      },
      timeoutMs: 60_000,
    });
    cleanups.push(async () => gw.child.kill('SIGKILL'));
    try {
      const api = new Api(gw.match[1]!, (await readFile(join(dataDir, 'admin-password'), 'utf8')).trim());
      const value = `TOPSECRET-${randomBytes(12).toString('hex')}`;
      expect((await api.system('POST', '/system/secrets', { name: 'db-pass', value })).status).toBe(201);
      expect((await api.system('PUT', '/system/secrets', { name: 'db-pass', value: `${value}-rotated` })).status).toBe(202);
      // A function too (without the secret, whose file in the run folder is meant to hold the value), so
      // bundles, objects and run folders exist.
      expect((await api.deploy('plain', 'secret')).status).toBeLessThan(300);
      await api.waitReplicas('plain', 1, 30_000);
      expect((await api.invoke('plain', { method: 'GET' })).status).toBe(200);
    } finally {
      // Stopped first: PGlite checkpoints on close, so a value would reach base/ as well as the WAL.
      gw.child.kill('SIGTERM');
      await exited(gw.child);
    }
    const entries = await walk(dataDir);
    for (const part of ['pglite/pg_wal', 'pglite/base', 'logs/gateway.log', 'logs/gpu-runner.log', 'objects', 'bundles', 'run/plain', 'admin-password']) {
      expect(entries.some((e) => e.path.startsWith(join(dataDir, part))), part).toBe(true);
    }
    expect(looseModes(entries)).toEqual([]);
    expect(await filesContaining(entries, 'TOPSECRET-')).toEqual([]);
    // The key that sealed it, beside the database: owner-only like the rest.
    expect((await lstat(join(dataDir, 'secret-key'))).mode & 0o777).toBe(0o600);
  }, 180_000);

  it('tightens a data dir an older version left readable by others, and says so in the log', async () => {
    const dataDir = join(await tempDir(), '.spindle');
    await mkdir(join(dataDir, 'logs'), { recursive: true, mode: 0o755 });
    await chmod(dataDir, 0o755);
    await writeFile(join(dataDir, 'logs', 'gateway.log'), 'old lines\n', { mode: 0o644 });
    await writeFile(join(dataDir, 'admin-password'), 'old-password\n', { mode: 0o644 });
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const platform = await createPlatform({ ...configFromEnv({}), dataDir, port: 0, logLevel: 'info' }, logger);
    try {
      expect(looseModes(await walk(dataDir))).toEqual([]);
      expect(lines.join('')).toMatch(/data dir .*private/);
    } finally {
      await platform.close();
    }
  }, 120_000);
});

describe('secrets in PostgreSQL', () => {
  const schema = uniqueName('spindle_secrets');
  cleanups.push(() => dropSchema(schema));
  const rows = async () => {
    const client = new pg.Client({ connectionString: MACHINE_PG });
    await client.connect();
    try {
      return (await client.query<{ name: string; value: Buffer; key_id: string | null }>(`SELECT name, value, key_id FROM "${schema}".secrets ORDER BY name`)).rows;
    } finally {
      await client.end();
    }
  };
  const insertPlaintext = async (name: string, value: string) => {
    const client = new pg.Client({ connectionString: MACHINE_PG });
    await client.connect();
    // As a gateway from before sealing wrote it: no key id, the bytes themselves.
    await client.query(`INSERT INTO "${schema}".secrets (name, value) VALUES ($1, $2)`, [name, Buffer.from(value)]);
    await client.end();
  };

  it('stores only sealed values, seals plaintext rows of older versions on start, still gives replicas the plaintext, and names the secret when the key is wrong', async () => {
    const dataDir = await tempDir();
    const fresh = `fresh-${randomBytes(12).toString('hex')}`;
    const legacy = `legacy-${randomBytes(12).toString('hex')}`;
    const first = await startPlatform({ dataDir, databaseUrl: MACHINE_PG, databaseSchema: schema });
    try {
      expect((await first.api.system('POST', '/system/secrets', { name: 'fresh', value: fresh })).status).toBe(201);
      const [row] = await rows();
      expect(row!.value.includes(Buffer.from(fresh))).toBe(false);
      expect(row!.key_id).toMatch(/^[0-9a-f]{16}$/);
      await insertPlaintext('legacy', legacy);
    } finally {
      await first.stop();
    }

    // A restart seals the old row in place; both still reach a replica as the plaintext.
    const second = await startPlatform({ dataDir, databaseUrl: MACHINE_PG, databaseSchema: schema });
    try {
      const sealed = await rows();
      expect(sealed.map((r) => r.name)).toEqual(['fresh', 'legacy']);
      for (const r of sealed) {
        expect(r.key_id).toMatch(/^[0-9a-f]{16}$/);
        for (const v of [fresh, legacy]) expect(r.value.includes(Buffer.from(v))).toBe(false);
      }
      expect((await second.api.deploy('secretive', 'secret', { secrets: ['fresh', 'legacy'] })).status).toBeLessThan(300);
      await second.api.waitReplicas('secretive', 1);
      for (const [name, v] of [['fresh', fresh], ['legacy', legacy]]) {
        const out = await (await second.api.invoke('secretive', { method: 'GET', path: `?name=${name}` })).json();
        expect(out).toMatchObject({ secret: v, leakedPassword: null });
      }
      expect((await lstat(join(dataDir, 'secret-key'))).mode & 0o777).toBe(0o600);
      expect(looseModes(await walk(dataDir))).toEqual([]);
    } finally {
      await second.stop();
    }

    // Another key (a second gateway that was not given the shared SPINDLE_SECRET_KEY): a clear error naming the secret.
    const other = await startPlatform({ dataDir: await tempDir(), databaseUrl: MACHINE_PG, databaseSchema: schema, secretKey: randomBytes(32).toString('base64') });
    try {
      const res = await other.api.deploy('secretive', 'secret', { secrets: ['fresh'] });
      expect(res.status).toBe(500);
      const { error } = await res.json();
      expect(error.code).toBe('SPINDLE_SECRET_UNREADABLE');
      expect(error.message).toMatch(/secret "fresh".*SPINDLE_SECRET_KEY/);
      expect(error.message).not.toContain(fresh);
      expect((await other.api.system('GET', '/system/secrets')).status).toBe(200);
    } finally {
      await other.stop();
    }
  }, 180_000);
});

describe('child processes', () => {
  const leaky = { SPINDLE_ADMIN_PASSWORD: `admin-${randomBytes(8).toString('hex')}`, AWS_SECRET_ACCESS_KEY: `aws-${randomBytes(8).toString('hex')}`, DATABASE_URL: 'postgres://u:pw@db/x' };

  it('the GPU runner gets an allow-listed environment, without the admin password, and still starts', async () => {
    const redis = redisPrefix();
    cleanups.push(redis.cleanup);
    const logFile = join(await tempDir(), 'gpu-runner.log');
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const child = await withParentEnv({ ...leaky, CUDA_VISIBLE_DEVICES: '0', SPINDLE_GPU_EP: 'cpu' }, async () =>
      startRunnerProcess({ REDIS_URL, SPINDLE_REDIS_PREFIX: redis.prefix, LOG_LEVEL: 'info', SPINDLE_GPU_METRICS_PORT: '0' }, logFile, logger),
    );
    cleanups.push(async () => child.kill('SIGKILL'));
    try {
      const deadline = Date.now() + 30_000;
      while (!lines.join('').includes('GPU runner ready')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`runner did not get ready:\n${await readFile(logFile, 'utf8').catch(() => '')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const env = await environOf(child.pid!);
      for (const k of Object.keys(leaky)) expect(env[k], k).toBeUndefined();
      expect(env).toMatchObject({ REDIS_URL, SPINDLE_REDIS_PREFIX: redis.prefix, CUDA_VISIBLE_DEVICES: '0', SPINDLE_GPU_EP: 'cpu', PATH: process.env.PATH });
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
  }, 60_000);

  it('a local NATS started by npm start does not get the admin password either', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const child = await withParentEnv(leaky, async () => ensureService(natsService(url), await tempDir(), pino({ level: 'silent' })));
    expect(child).not.toBeNull();
    cleanups.push(async () => child!.kill('SIGKILL'));
    const env = await environOf(child!.pid!);
    for (const k of Object.keys(leaky)) expect(env[k], k).toBeUndefined();
    child!.kill('SIGTERM');
    await exited(child!);
  });
});
