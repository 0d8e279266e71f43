/**
 * The generic function runtime (infra/runtime.Dockerfile) for real, without Docker: its entry point is built with
 * the very esbuild command the Dockerfile runs, then started as a process against a real S3-compatible server
 * (s3rver) holding a bundle the CLI built; it must serve the function on its port with OpenFaaS's health path.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, ROOT, run, spawnUntil, tempDir } from './harness.ts';

type S3rver = { run(): Promise<AddressInfo>; close(): Promise<void> };
const S3rverCtor = createRequire(import.meta.url)('s3rver') as new (o: { address: string; port: number; directory: string; silent: boolean }) => S3rver;

/** The arguments of the Dockerfile's `RUN npx esbuild …` line. */
async function dockerfileEsbuildArgs(): Promise<string[]> {
  const doc = DockerfileParser.parse(await readFile(join(ROOT, 'infra/runtime.Dockerfile'), 'utf8'));
  const line = doc
    .getInstructions()
    .filter((i) => i.getKeyword() === 'RUN')
    .map((i) => i.getArgumentsContent() ?? '')
    .find((c) => c.startsWith('npx esbuild '));
  if (!line) throw new Error('infra/runtime.Dockerfile has no `RUN npx esbuild …` line');
  return line.split(/\s+/).slice(2);
}

let s3rver: S3rver;
let app = '';
const env: Record<string, string> = {};
const children: ChildProcess[] = [];
let hex = '';

beforeAll(async () => {
  const dir = await tempDir('spindle-runtime-');
  s3rver = new S3rverCtor({ address: '127.0.0.1', port: 0, directory: join(dir, 's3'), silent: true });
  const endpoint = `http://127.0.0.1:${(await s3rver.run()).port}`;
  // The image's layout: /app/bundle-start.mjs beside /app/node_modules (minio only; here the workspace's).
  app = join(dir, 'app');
  await mkdir(app);
  await symlink(join(ROOT, 'node_modules'), join(app, 'node_modules'));
  const [entry, ...flags] = await dockerfileEsbuildArgs();
  const argv = flags.map((f) => (f.startsWith('--outfile=') ? `--outfile=${join(app, 'bundle-start.mjs')}` : f));
  const built = await run(process.execPath, [join(ROOT, 'node_modules/esbuild/bin/esbuild'), join(ROOT, entry), ...argv]);
  expect(built.code, built.stderr).toBe(0);

  const b = await bundle('secret');
  hex = b.digest;
  const minio = new Client({ endPoint: '127.0.0.1', port: Number(new URL(endpoint).port), useSSL: false, accessKey: 'S3RVER', secretKey: 'S3RVER' });
  await minio.makeBucket('spindle-rt');
  await minio.putObject('spindle-rt', `bundles/sha256/${hex}`, b.bytes, b.bytes.length);
  // A function secret as Kubernetes mounts it: one file per key.
  const secrets = join(dir, 'secrets');
  await mkdir(secrets);
  await writeFile(join(secrets, 'api-key'), 'from-a-mounted-secret');
  // The secret key as OpenFaaS and Kubernetes hand it over: a file.
  await writeFile(join(dir, 's3-secret-key'), 'S3RVER\n');
  Object.assign(env, { S3_ENDPOINT: endpoint, S3_ACCESS_KEY: 'S3RVER', S3_SECRET_KEY_FILE: join(dir, 's3-secret-key'), S3_BUCKET: 'spindle-rt', SPINDLE_BUNDLE_DIR: join(dir, 'bundles'), SPINDLE_SECRETS_DIR: secrets, SPINDLE_FUNCTION_NAME: 'secret', HOST: '127.0.0.1', PORT: '0' });
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await s3rver?.close();
});

describe('the function runtime image entry point', () => {
  it('fetches the bundle by digest from the object store and serves it with /_/health', async () => {
    const { child, match } = await spawnUntil(process.execPath, [join(app, 'bundle-start.mjs')], /"port":(\d+)/, { env: { ...env, SPINDLE_BUNDLE: `sha256:${hex}` }, timeoutMs: 20_000 });
    children.push(child);
    const url = `http://127.0.0.1:${match[1]}`;
    const health = await fetch(`${url}/_/health`);
    expect(health.status).toBe(200);
    const res = await fetch(`${url}/?name=api-key`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ secret: 'from-a-mounted-secret' });
  });

  it('refuses a digest the store does not hold, and a malformed one, naming what is wrong', async () => {
    const missing = await run(process.execPath, [join(app, 'bundle-start.mjs')], { env: { ...env, SPINDLE_BUNDLE: `sha256:${'0'.repeat(64)}` }, timeoutMs: 20_000 });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/bundle sha256:0{64} is not in bucket spindle-rt/);
    const malformed = await run(process.execPath, [join(app, 'bundle-start.mjs')], { env: { ...env, SPINDLE_BUNDLE: 'latest' }, timeoutMs: 20_000 });
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/SPINDLE_BUNDLE must be sha256:<64 hex digits>/);
  });
});
