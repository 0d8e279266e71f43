/**
 * The gateway image's command (infra/gateway.Dockerfile: `node --import tsx gateway/src/gateway-main.ts`) as a
 * process, configured the way docker-compose.yml and the Kubernetes ConfigMap do it: credentials from
 * `<NAME>_FILE` secrets, Postgres and S3 as services. It must serve /healthz and the management API with the
 * password from its file, and stop cleanly on SIGTERM.
 */
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MACHINE_PG, ROOT, spawnUntil, tempDir, uniqueName } from './harness.ts';

type S3rver = { run(): Promise<AddressInfo>; close(): Promise<void> };
const S3rverCtor = createRequire(import.meta.url)('s3rver') as new (o: { address: string; port: number; directory: string; silent: boolean }) => S3rver;
const schema = uniqueName('spindle_gwimg');
let s3rver: S3rver | undefined;

afterAll(async () => {
  await s3rver?.close();
  const client = new pg.Client({ connectionString: MACHINE_PG });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
});

describe('the gateway image entry point', () => {
  it('starts from the environment with *_FILE secrets, serves, and stops on SIGTERM', async () => {
    const dir = await tempDir('spindle-gwimg-');
    s3rver = new S3rverCtor({ address: '127.0.0.1', port: 0, directory: join(dir, 's3'), silent: true });
    const s3 = `http://127.0.0.1:${(await s3rver.run()).port}`;
    const secrets: Record<string, string> = { admin_password: 'from-a-secret-file\n', s3_secret_key: 'S3RVER\n', database_url: `${MACHINE_PG}\n`, secret_key: `${'ab'.repeat(32)}\n` };
    for (const [name, value] of Object.entries(secrets)) await writeFile(join(dir, name), value);
    const env = {
      HOST: '127.0.0.1',
      PORT: '0',
      SPINDLE_DATA_DIR: join(dir, 'data'),
      DATABASE_URL_FILE: join(dir, 'database_url'),
      DATABASE_SCHEMA: schema,
      S3_ENDPOINT: s3,
      S3_BUCKET: 'spindle-gwimg',
      S3_ACCESS_KEY: 'S3RVER',
      S3_SECRET_KEY_FILE: join(dir, 's3_secret_key'),
      SPINDLE_ADMIN_PASSWORD_FILE: join(dir, 'admin_password'),
      SPINDLE_SECRET_KEY_FILE: join(dir, 'secret_key'),
      SPINDLE_NATS_PREFIX: uniqueName('gwimg'),
      SPINDLE_REDIS_PREFIX: uniqueName('gwimg'),
      SPINDLE_AUTOSCALE: '0',
    };
    const { child, match } = await spawnUntil(process.execPath, ['--import', 'tsx', join(ROOT, 'gateway/src/gateway-main.ts')], /"url":"(http:\/\/[^"]+)".*"msg":"gateway listening"/, { env, timeoutMs: 60_000 });
    try {
      const url = match[1];
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const auth = `Basic ${Buffer.from('admin:from-a-secret-file').toString('base64')}`;
      expect((await fetch(`${url}/system/functions`, { headers: { authorization: auth } })).status).toBe(200);
      expect((await fetch(`${url}/system/functions`, { headers: { authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` } })).status).toBe(401);
    } finally {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  }, 90_000);
});
