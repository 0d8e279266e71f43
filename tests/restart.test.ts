/** Restarting the gateway brings every deployed function back, on the machine's Postgres and on embedded PGlite. */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MACHINE_PG, startPlatform, tempDir, uniqueName } from './harness.ts';

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
