/** Restarting the gateway brings every deployed function back, on the machine's Postgres and on embedded PGlite. */
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MACHINE_PG, startPlatform, tempDir, uniqueName } from './harness.ts';

/** The little of s3rver's (untyped) API used here: a real S3-compatible server on loopback. */
type S3rver = { run(): Promise<AddressInfo>; close(): Promise<void> };
const S3rverCtor = createRequire(import.meta.url)('s3rver') as new (o: { address: string; port: number; directory: string; silent: boolean }) => S3rver;
let s3rver: S3rver;
let s3Endpoint = '';
beforeAll(async () => {
  s3rver = new S3rverCtor({ address: '127.0.0.1', port: 0, directory: await tempDir('spindle-s3rver-'), silent: true });
  s3Endpoint = `http://127.0.0.1:${(await s3rver.run()).port}`;
});
afterAll(() => s3rver?.close());

const schemas: string[] = [];
afterAll(async () => {
  if (!schemas.length) return;
  const client = new pg.Client({ connectionString: MACHINE_PG });
  await client.connect();
  for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await client.end();
});

const databases = [
  { name: 'embedded PGlite', config: () => ({}) },
  {
    name: 'machine PostgreSQL',
    config: () => {
      const schema = uniqueName('spindle_restart');
      schemas.push(schema);
      return { databaseUrl: MACHINE_PG, databaseSchema: schema };
    },
  },
  {
    name: 'machine PostgreSQL and S3 (s3rver through the minio client)',
    config: () => {
      const schema = uniqueName('spindle_restart');
      schemas.push(schema);
      const bucket = `spindle-${uniqueName('b').replace('_', '-')}`;
      return { databaseUrl: MACHINE_PG, databaseSchema: schema, s3: { endpoint: s3Endpoint, accessKey: 'S3RVER', secretKey: 'S3RVER', bucket } };
    },
  },
];

describe.each(databases)('gateway restart on $name', ({ config }) => {
  it('serves every deployed function again without a redeploy', async () => {
    const dataDir = await tempDir();
    const db = config();
    const first = await startPlatform({ dataDir, ...db });
    expect((await first.api.deploy('echo', 'echo', { labels: { 'com.openfaas.scale.min': '2' } })).status).toBe(202);
    expect((await first.api.deploy('greet', 'greet')).status).toBe(202);
    await first.api.waitReplicas('echo', 2);
    await first.api.system('POST', '/system/secrets', { name: 'kept', value: 'v' });
    const pids = first.platform.provider.replicas('echo').map((r) => r.pid!);
    await first.stop();
    // Bundles live in the object store: a fresh data dir (no local bundle copies) still restores.
    if ('s3' in db) await rm(`${dataDir}/bundles`, { recursive: true, force: true });
    // Ctrl-C leaves no replica behind.
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();

    const second = await startPlatform({ dataDir, ...db });
    try {
      await second.api.waitReplicas('echo', 2);
      const res = await second.api.invoke('echo', { body: 'still here', headers: { 'content-type': 'text/plain' } });
      expect(await res.text()).toBe('still here');
      await second.api.waitReplicas('greet', 1);
      expect(await (await second.api.invoke('greet', { body: '{"name":"again"}' })).json()).toEqual({ greeting: 'Hello, again!' });
      const list = await (await second.api.system('GET', '/system/functions')).json();
      expect(list.map((f: { name: string }) => f.name)).toEqual(['echo', 'greet']);
      expect(await (await second.api.system('GET', '/system/secrets')).json()).toEqual([{ name: 'kept', namespace: 'openfaas-fn' }]);
    } finally {
      await second.stop();
    }
  }, 90_000);
});
