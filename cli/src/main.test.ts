import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSince } from './commands/logs.ts';
import { runCli } from './main.ts';
import { chunks, memoryIo, startFakeGateway, type FakeGateway, type RecordedRequest } from './testing/fake-gateway.ts';

/** A gateway that stores bundles and functions in memory, like the real one does. */
function statefulGateway(gw: FakeGateway): { bundles: Set<string>; functions: Map<string, Record<string, unknown>> } {
  const bundles = new Set<string>();
  const functions = new Map<string, Record<string, unknown>>();
  gw.handle((req: RecordedRequest) => {
    const digest = req.url.replace('/system/bundles/', '');
    if (req.method === 'HEAD') return { status: bundles.has(digest) ? 200 : 404 };
    if (req.method === 'PUT' && req.url.startsWith('/system/bundles/')) {
      bundles.add(digest);
      return { status: 201, body: { digest, size: req.body.length } };
    }
    if (req.url === '/system/functions' && (req.method === 'PUT' || req.method === 'POST')) {
      const body = JSON.parse(req.body.toString()) as Record<string, unknown>;
      if (req.method === 'PUT' && !functions.has(body.service as string)) return { status: 404, body: { error: { code: 'SPINDLE_NOT_FOUND', message: 'not found' } } };
      functions.set(body.service as string, body);
      return { status: 202 };
    }
    return { status: 404, body: { error: { code: 'SPINDLE_NOT_FOUND', message: `no route ${req.method} ${req.url}` } } };
  });
  return { bundles, functions };
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('spindle commands', () => {
  let gw: FakeGateway;
  let dir: string;
  let env: Record<string, string>;
  beforeEach(async () => {
    gw = await startFakeGateway();
    dir = await mkdtemp(path.join(os.tmpdir(), 'spindle-cli-'));
    env = { OPENFAAS_URL: gw.url, SPINDLE_ADMIN_PASSWORD: 'pw', SPINDLE_CONFIG_DIR: path.join(dir, 'config') };
    await mkdir(path.join(dir, 'node_modules/@spindle/runtime'), { recursive: true });
    await writeFile(path.join(dir, 'node_modules/@spindle/runtime/package.json'), '{"name":"@spindle/runtime","type":"module","exports":{"./watchdog":"./w.js"}}');
    await writeFile(path.join(dir, 'node_modules/@spindle/runtime/w.js'), 'export async function serve() {}\n');
    for (const name of ['one', 'two']) {
      await mkdir(path.join(dir, `functions/${name}`), { recursive: true });
      await writeFile(path.join(dir, `functions/${name}/handler.ts`), `export default { name: '${name}' };\n`);
    }
    await writeFile(path.join(dir, 'stack.yml'), 'provider:\n  name: spindle\nfunctions:\n  one:\n    handler: ./functions/one\n  two:\n    handler: ./functions/two\n');
  });
  afterEach(async () => {
    await gw.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints expected errors as one line and exits 1', async () => {
    await writeFile(path.join(dir, 'stack.yml'), 'provider:\n  name: spindle\nfunctions:\n  one:\n    handler: ./functions/one\n    lang: cobol\n');
    const t = memoryIo({ cwd: dir, env });
    expect(await runCli(['build'], t.io)).toBe(1);
    expect(t.stderr()).toBe('error: stack.yml:6:5: functions.one.lang must be one of "control", "gpu"\n');
    const u = memoryIo({ cwd: dir, env });
    expect(await runCli(['build', '--nope'], u.io)).toBe(1);
    expect(u.stderr()).toContain("unknown option '--nope'");
  });

  it('up builds and deploys; a second up changes nothing', async () => {
    const state = statefulGateway(gw);
    const t = memoryIo({ cwd: dir, env });
    expect(await runCli(['up'], t.io)).toBe(0);
    expect(t.stdout()).toMatch(/^one {2}built sha256:[0-9a-f]{64} \(/m);
    expect(t.stdout()).toMatch(/^one {2}created sha256:[0-9a-f]{12} \(bundle uploaded\)/m);
    expect(t.stdout()).toContain(`${gw.url}/function/two`);
    expect([...state.functions.keys()]).toEqual(['one', 'two']);
    expect(state.functions.get('one')!.image).toMatch(/^bundle:\/\/sha256:[0-9a-f]{64}$/);
    expect((await stat(path.join(dir, '.spindle/build/one/bundle.mjs'))).size).toBeGreaterThan(0);

    const again = memoryIo({ cwd: dir, env });
    expect(await runCli(['up', '--filter', 'two'], again.io)).toBe(0);
    expect(again.stdout()).toMatch(/^two {2}unchanged sha256:/m);
    expect(again.stdout()).toMatch(/^two {2}updated sha256:[0-9a-f]{12} \(bundle already present\)/m);
    expect(again.stdout()).not.toContain('one');
  });

  it('honours SPINDLE_DATA_DIR for build output', async () => {
    const data = path.join(dir, 'elsewhere');
    const t = memoryIo({ cwd: dir, env: { ...env, SPINDLE_DATA_DIR: data } });
    expect(await runCli(['build', '--filter', 'one'], t.io)).toBe(0);
    expect((await stat(path.join(data, 'build/one/meta.json'))).isFile()).toBe(true);
  });

  it('up --watch redeploys only the function that changed, until interrupted', async () => {
    const state = statefulGateway(gw);
    const t = memoryIo({ cwd: dir, env });
    const done = runCli(['up', '--watch'], t.io);
    await until(() => t.stdout().includes('watching 2 functions'), 'the watcher');
    const before = gw.requests.length;
    await writeFile(path.join(dir, 'functions/two/handler.ts'), "export default { name: 'two', v: 2 };\n");
    await until(() => /^two {2}redeployed sha256:[0-9a-f]{12} in \d+ ms$/m.test(t.stdout()), 'the redeploy');
    const after = gw.requests.slice(before).filter((r) => r.url === '/system/functions');
    expect(after.map((r) => (JSON.parse(r.body.toString()) as { service: string }).service)).toEqual(['two']);
    expect(state.bundles.size).toBe(3);
    // Saving the same content again rebuilds nothing new and redeploys nothing.
    await writeFile(path.join(dir, 'functions/two/handler.ts'), "export default { name: 'two', v: 2 };\n");
    await new Promise((r) => setTimeout(r, 400));
    expect(t.stdout().match(/redeployed/g)).toHaveLength(1);
    t.interrupt();
    expect(await done).toBe(0);
  });

  it('invoke sends stdin and streams the reply; a failure goes to stderr with exit 1', async () => {
    gw.handle((req) => (req.url.startsWith('/function/ok') ? { body: chunks('hel', 'lo\n') } : { status: 500, body: 'boom' }));
    const t = memoryIo({ cwd: dir, env, stdin: '{"name":"Ada"}' });
    expect(await runCli(['invoke', 'ok', '--content-type', 'application/json', '-H', 'X-Trace=a=b', '--query', 'x=1'], t.io)).toBe(0);
    expect(t.stdout()).toBe('hello\n');
    const req = gw.requests[0]!;
    expect(req).toMatchObject({ method: 'POST', url: '/function/ok?x=1' });
    expect(req.body.toString()).toBe('{"name":"Ada"}');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-trace']).toBe('a=b');
    const f = memoryIo({ cwd: dir, env });
    expect(await runCli(['invoke', 'bad'], f.io)).toBe(1);
    expect(f.stdout()).toBe('');
    expect(f.stderr()).toBe('boom\nerror: bad returned HTTP 500\n');
  });

  it('list, describe, scale, remove and logs talk to the management API', async () => {
    const fn = { name: 'one', image: `bundle://sha256:${'a'.repeat(64)}`, namespace: 'default', replicas: 2, availableReplicas: 1, invocationCount: 7, labels: { a: 'b' } };
    const logLine = JSON.stringify({ name: 'one', instance: 'one-1', timestamp: '2025-01-01T00:00:00Z', text: 'hi\n' });
    gw.handle((req) => {
      if (req.url === '/system/functions' && req.method === 'GET') return { body: [fn, { ...fn, name: 'tts', replicas: 1, queueDepth: 3 }] };
      if (req.url === '/system/function/one') return { body: fn };
      if (req.url.startsWith('/system/logs')) return { body: `${logLine}\n` };
      return { status: 202 };
    });
    const list = memoryIo({ cwd: dir, env });
    expect(await runCli(['list'], list.io)).toBe(0);
    // A GPU function (tts) has no replicas: its queue depth shows instead.
    expect(list.stdout()).toBe(
      'NAME  INVOCATIONS  REPLICAS  AVAILABLE  QUEUE  IMAGE\n' +
        'one   7            2         1          -      sha256:aaaaaaaaaaaa\n' +
        'tts   7            -         -          3      sha256:aaaaaaaaaaaa\n',
    );
    const describe = memoryIo({ cwd: dir, env });
    expect(await runCli(['describe', 'one'], describe.io)).toBe(0);
    expect(describe.stdout()).toContain('Status:              Ready');
    expect(describe.stdout()).toContain(`URL:                 ${gw.url}/function/one`);
    const logs = memoryIo({ cwd: dir, env });
    expect(await runCli(['logs', 'one', '--tail', '10', '--since', '5m'], logs.io)).toBe(0);
    expect(logs.stdout()).toBe('2025-01-01T00:00:00Z one-1 hi\n');
    expect(await runCli(['scale', 'one', '--replicas', '3'], memoryIo({ cwd: dir, env }).io)).toBe(0);
    expect(await runCli(['rm', 'one'], memoryIo({ cwd: dir, env }).io)).toBe(0);
    const writes = gw.requests.filter((r) => r.method !== 'GET');
    expect(writes.map((r) => [r.method, r.url, JSON.parse(r.body.toString())])).toEqual([
      ['POST', '/system/scale-function/one', { serviceName: 'one', replicas: 3 }],
      ['DELETE', '/system/functions', { functionName: 'one' }],
    ]);
  });

  it('login checks the password, stores it 0600 and later commands use it', async () => {
    gw.handle((req) => (req.headers.authorization === `Basic ${Buffer.from('admin:good').toString('base64')}` ? { body: [] } : { status: 401 }));
    const noEnv = { OPENFAAS_URL: gw.url, SPINDLE_CONFIG_DIR: path.join(dir, 'config') };
    const denied = memoryIo({ cwd: dir, env: noEnv });
    expect(await runCli(['list'], denied.io)).toBe(1);
    expect(denied.stderr()).toContain('run `spindle login');
    const wrong = memoryIo({ cwd: dir, env: noEnv, stdin: 'bad\n' });
    expect(await runCli(['login', '--password-stdin'], wrong.io)).toBe(1);
    expect(wrong.stderr()).toContain('rejected the password');
    const ok = memoryIo({ cwd: dir, env: noEnv, stdin: 'good\n' });
    expect(await runCli(['login', '--password-stdin'], ok.io)).toBe(0);
    const file = path.join(dir, 'config/credentials.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8')).gateways[gw.url]).toEqual({ user: 'admin', password: 'good' });
    expect(await runCli(['list'], memoryIo({ cwd: dir, env: noEnv }).io)).toBe(0);
    const out = memoryIo({ cwd: dir, env: noEnv });
    expect(await runCli(['logout'], out.io)).toBe(0);
    expect(out.stdout()).toBe(`logged out of ${gw.url}\n`);
  });

  it('secret create/update/list/remove', async () => {
    gw.handle((req) => (req.method === 'GET' ? { body: [{ name: 'b' }, { name: 'a' }] } : { status: 201 }));
    expect(await runCli(['secret', 'create', 'api-key'], memoryIo({ cwd: dir, env, stdin: 'top secret\n' }).io)).toBe(0);
    expect(await runCli(['secret', 'update', 'api-key', '--from-literal', 'v2'], memoryIo({ cwd: dir, env }).io)).toBe(0);
    await writeFile(path.join(dir, 'blob.bin'), Buffer.from([0xff, 0x00, 0xfe]));
    expect(await runCli(['secret', 'update', 'api-key', '--from-file', 'blob.bin'], memoryIo({ cwd: dir, env }).io)).toBe(0);
    const list = memoryIo({ cwd: dir, env });
    expect(await runCli(['secret', 'ls'], list.io)).toBe(0);
    expect(list.stdout()).toBe('NAME\na\nb\n');
    expect(await runCli(['secret', 'rm', 'api-key'], memoryIo({ cwd: dir, env }).io)).toBe(0);
    const bad = memoryIo({ cwd: dir, env });
    expect(await runCli(['secret', 'create', 'Bad_Name', '--from-literal', 'x'], bad.io)).toBe(1);
    expect(bad.stderr()).toContain('"Bad_Name" is not a valid secret name');
    expect(gw.requests.filter((r) => r.method !== 'GET').map((r) => [r.method, JSON.parse(r.body.toString())])).toEqual([
      ['POST', { name: 'api-key', value: 'top secret' }],
      ['PUT', { name: 'api-key', value: 'v2' }],
      ['PUT', { name: 'api-key', rawValue: Buffer.from([0xff, 0x00, 0xfe]).toString('base64') }],
      ['DELETE', { name: 'api-key' }],
    ]);
  });

  it('parses --since durations and RFC 3339 times', () => {
    const now = Date.parse('2025-01-01T12:00:00Z');
    expect(parseSince('5m', now)).toBe('2025-01-01T11:55:00.000Z');
    expect(parseSince('1h30m', now)).toBe('2025-01-01T10:30:00.000Z');
    expect(parseSince('2025-01-01T10:00:00+01:00', now)).toBe('2025-01-01T09:00:00.000Z');
    expect(() => parseSince('yesterday', now)).toThrow(/--since expects/);
  });
});
