import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildFunctions } from './build.ts';
import { GatewayClient } from './client.ts';
import { deployFunctions } from './deploy.ts';
import { AuthError, GatewayError, GatewayUnreachableError } from './errors.ts';
import { loadStack, type LoadedStack } from './stack.ts';
import { chunks, startFakeGateway, type FakeGateway } from './testing/fake-gateway.ts';

const credentials = { user: 'admin', password: 's3cret' };
const basic = `Basic ${Buffer.from('admin:s3cret').toString('base64')}`;

describe('GatewayClient', () => {
  let gw: FakeGateway;
  beforeAll(async () => {
    gw = await startFakeGateway();
  });
  afterAll(() => gw.close());
  beforeEach(() => {
    gw.requests.length = 0;
  });

  it('sends basic auth to /system routes and none to /function routes', async () => {
    gw.handle(() => ({ body: [] }));
    const client = new GatewayClient({ url: `${gw.url}/`, credentials });
    await client.listFunctions();
    await client.invoke('echo', { body: 'hi', headers: { 'content-type': 'text/plain' }, query: [['a', '1']] });
    expect(gw.requests[0]).toMatchObject({ method: 'GET', url: '/system/functions' });
    expect(gw.requests[0]!.headers.authorization).toBe(basic);
    expect(gw.requests[1]).toMatchObject({ method: 'POST', url: '/function/echo?a=1' });
    expect(gw.requests[1]!.headers.authorization).toBeUndefined();
    expect(gw.requests[1]!.body.toString()).toBe('hi');
  });

  it('surfaces the gateway\'s error message', async () => {
    gw.handle(() => ({ status: 400, body: { error: { code: 'SPINDLE_BAD_REQUEST', message: 'field "replicas": must be >= 0' } } }));
    const err = await new GatewayClient({ url: gw.url, credentials }).scaleFunction('echo', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).message).toBe('field "replicas": must be >= 0');
    expect((err as GatewayError).status).toBe(400);
    gw.handle(() => ({ status: 500, body: 'plain failure' }));
    await expect(new GatewayClient({ url: gw.url }).info()).rejects.toThrow('GET /system/info failed with HTTP 500: plain failure');
  });

  it('turns 401 into advice to log in', async () => {
    gw.handle(() => ({ status: 401, body: { error: { code: 'SPINDLE_UNAUTHORIZED', message: 'authentication required' } } }));
    const missing = await new GatewayClient({ url: gw.url }).listFunctions().catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(AuthError);
    expect((missing as Error).message).toMatch(/needs credentials: run `spindle login .*` or set SPINDLE_ADMIN_PASSWORD/);
    const wrong = await new GatewayClient({ url: gw.url, credentials }).listFunctions().catch((e: unknown) => e);
    expect((wrong as Error).message).toContain('rejected the credentials');
  });

  it('says when nothing listens at the gateway URL', async () => {
    const closed = await startFakeGateway();
    await closed.close();
    const err = await new GatewayClient({ url: closed.url }).listFunctions().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayUnreachableError);
    expect((err as Error).message).toContain(`cannot reach the gateway at ${closed.url} (ECONNREFUSED)`);
  });

  it('streams log lines as they arrive', async () => {
    const line = (text: string) => `${JSON.stringify({ name: 'echo', namespace: 'default', instance: 'echo-1', timestamp: '2025-01-01T00:00:00Z', text })}\n`;
    const [a, b] = [line('one'), line('two')];
    gw.handle(() => ({ headers: { 'content-type': 'application/x-ndjson' }, body: chunks(a, b.slice(0, 10), b.slice(10)) }));
    const client = new GatewayClient({ url: gw.url, credentials });
    const texts: string[] = [];
    for await (const entry of client.logs({ name: 'echo', follow: true, tail: 5, since: '2025-01-01T00:00:00.000Z' })) texts.push(entry.text);
    expect(texts).toEqual(['one', 'two']);
    const url = new URL(gw.requests[0]!.url, gw.url);
    expect(Object.fromEntries(url.searchParams)).toEqual({ name: 'echo', follow: 'true', tail: '5', since: '2025-01-01T00:00:00.000Z' });
  });
});

describe('deployFunctions', () => {
  let gw: FakeGateway;
  let dir: string;
  let stack: LoadedStack;
  const dataDir = () => path.join(dir, '.spindle');
  beforeEach(async () => {
    gw = await startFakeGateway();
    dir = await mkdtemp(path.join(os.tmpdir(), 'spindle-deploy-'));
    await mkdir(path.join(dir, 'functions/echo'), { recursive: true });
    await mkdir(path.join(dir, 'node_modules/@spindle/runtime'), { recursive: true });
    await writeFile(path.join(dir, 'node_modules/@spindle/runtime/package.json'), '{"name":"@spindle/runtime","type":"module","exports":{"./watchdog":"./w.js"}}');
    await writeFile(path.join(dir, 'node_modules/@spindle/runtime/w.js'), 'export async function serve() {}\n');
    await writeFile(path.join(dir, 'functions/echo/handler.ts'), 'export default {};\n');
    await writeFile(path.join(dir, 'base.env.yml'), 'environment:\n  FROM_FILE: a\n  OVERRIDDEN: file\n');
    await writeFile(
      path.join(dir, 'stack.yml'),
      [
        'provider:',
        '  name: spindle',
        'functions:',
        '  echo:',
        '    handler: ./functions/echo',
        '    environment_file: [base.env.yml]',
        '    environment: { RETRIES: 3, DEBUG: true, OVERRIDDEN: stack }',
        '    labels: { com.openfaas.scale.min: "2" }',
        '    secrets: [api-key]',
        '    limits: { memory: 256Mi }',
        '',
      ].join('\n'),
    );
    stack = await loadStack(path.join(dir, 'stack.yml'));
  });
  afterEach(async () => {
    await gw.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads a missing bundle, then PUTs and POSTs when the function does not exist', async () => {
    const [build] = await buildFunctions(stack, { dataDir: dataDir() });
    gw.handle((req) => {
      if (req.method === 'HEAD') return { status: 404 };
      if (req.method === 'PUT' && req.url.startsWith('/system/bundles/')) return { status: 201, body: { digest: build!.digest, size: req.body.length } };
      if (req.method === 'PUT') return { status: 404, body: { error: { code: 'SPINDLE_NOT_FOUND', message: 'function echo not found' } } };
      return { status: 202 };
    });
    const client = new GatewayClient({ url: gw.url, credentials });
    const results = await deployFunctions(client, stack, { dataDir: dataDir() });
    expect(results).toMatchObject([{ name: 'echo', digest: build!.digest, uploaded: true, action: 'created' }]);
    expect(gw.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `HEAD /system/bundles/${build!.digest}`,
      `PUT /system/bundles/${build!.digest}`,
      'PUT /system/functions',
      'POST /system/functions',
    ]);
    for (const r of gw.requests) expect(r.headers.authorization).toBe(basic);
    const upload = gw.requests[1]!;
    expect(upload.headers['content-type']).toBe('application/octet-stream');
    expect(upload.body.length).toBe(build!.size);
    const body = JSON.parse(gw.requests[3]!.body.toString()) as Record<string, unknown>;
    expect(body).toEqual({
      service: 'echo',
      image: `bundle://${build!.digest}`,
      envVars: { FROM_FILE: 'a', OVERRIDDEN: 'stack', RETRIES: '3', DEBUG: 'true' },
      labels: { 'com.openfaas.scale.min': '2' },
      annotations: {},
      secrets: ['api-key'],
      limits: { memory: '256Mi' },
    });
    expect(gw.requests[2]!.body.toString()).toBe(gw.requests[3]!.body.toString());
  });

  it('skips the upload when the gateway has the bundle and updates with PUT alone', async () => {
    await buildFunctions(stack, { dataDir: dataDir() });
    gw.handle(() => ({ status: 200 }));
    const results = await deployFunctions(new GatewayClient({ url: gw.url, credentials }), stack, { dataDir: dataDir() });
    expect(results).toMatchObject([{ uploaded: false, action: 'updated' }]);
    expect(gw.requests.map((r) => r.method)).toEqual(['HEAD', 'PUT']);
    expect(gw.requests[1]!.url).toBe('/system/functions');
  });

  it('stops with the gateway\'s message when a deploy is refused', async () => {
    await buildFunctions(stack, { dataDir: dataDir() });
    gw.handle((req) => (req.method === 'HEAD' ? { status: 200 } : { status: 400, body: { error: { code: 'SPINDLE_BAD_REQUEST', message: 'field "secrets.0": unknown secret api-key' } } }));
    await expect(deployFunctions(new GatewayClient({ url: gw.url, credentials }), stack, { dataDir: dataDir() })).rejects.toThrow(
      'field "secrets.0": unknown secret api-key',
    );
  });

  it('asks for a build first when there is none', async () => {
    await expect(deployFunctions(new GatewayClient({ url: gw.url }), stack, { dataDir: dataDir() })).rejects.toThrow(/has not been built/);
    expect(gw.requests).toEqual([]);
  });
});
