/**
 * End to end with the real CLI against a running platform (`spindle start`, what `npm start` runs), in a temp project:
 * new, up, invoke, list, describe, logs, scale, secret, up --watch, remove, kill -9 and restart, Ctrl-C.
 */
import { cp, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, ROOT, run, spawnUntil, tempDir } from './harness.ts';

const SPINDLE = join(ROOT, 'cli', 'bin', 'spindle.mjs');
let project: string;
let gateway: string;
let env: NodeJS.ProcessEnv;
let server: ChildProcess | undefined;

function spindle(args: string[], input?: string) {
  return run(process.execPath, [SPINDLE, ...args], { cwd: project, env, input, timeoutMs: 60_000 });
}

async function startServer(): Promise<void> {
  const started = await spawnUntil(process.execPath, [SPINDLE, 'start'], /Spindle gateway listening on (http:\/\/127\.0\.0\.1:\d+)/, { cwd: project, env, timeoutMs: 90_000 });
  server = started.child;
  gateway = started.match[1];
}

/** Process ids of replicas started from this project's data dir. */
async function replicaPids(): Promise<number[]> {
  const { stdout } = await run('pgrep', ['-f', join(project, '.spindle', 'bundles')]);
  return stdout.split('\n').filter(Boolean).map(Number);
}

beforeAll(async () => {
  project = await tempDir('spindle-e2e-');
  await cp(join(ROOT, 'stack.yml'), join(project, 'stack.yml'));
  await cp(join(ROOT, 'functions'), join(project, 'functions'), { recursive: true });
  // The project's installed dependencies: the GPU functions' model recipes read models out of npm packages.
  await symlink(join(ROOT, 'node_modules'), join(project, 'node_modules'), 'dir');
  const port = 20000 + Math.floor(Math.random() * 20000);
  // No login and no SPINDLE_ADMIN_PASSWORD: the CLI finds the password the gateway wrote into the data dir.
  env = { PORT: String(port), OPENFAAS_URL: `http://127.0.0.1:${port}`, SPINDLE_CONFIG_DIR: join(project, '.config'), SPINDLE_NATS_PREFIX: `e2e_${port}`, SPINDLE_REDIS_PREFIX: `e2e_${port}` };
  await startServer();
}, 120_000);

afterAll(async () => {
  server?.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 1000));
});

describe('spindle CLI against a running platform', () => {
  it('started with every stack function deployed and the admin password in the data dir', async () => {
    expect(gateway).toBe(env.OPENFAAS_URL);
    const password = (await readFile(join(project, '.spindle', 'admin-password'), 'utf8')).trim();
    expect(password.length).toBeGreaterThan(16);
    const res = await fetch(`${gateway}/function/echo`, { method: 'POST', body: 'ready?' });
    expect(await res.text()).toBe('ready?');
  });

  it('scaffolds, deploys and invokes a new function', async () => {
    const created = await spindle(['new', 'hello-e2e', '--lang', 'control']);
    expect(created.code, created.stderr).toBe(0);
    expect(await readFile(join(project, 'stack.yml'), 'utf8')).toMatch(/hello-e2e:\n\s+lang: control\n\s+handler: \.\/functions\/hello-e2e/);
    const up = await spindle(['up', '--filter', 'hello-e2e']);
    expect(up.code, up.stderr).toBe(0);
    const invoked = await spindle(['invoke', 'hello-e2e'], JSON.stringify({ name: 'E2E' }));
    expect(invoked.code, invoked.stderr).toBe(0);
    expect(invoked.stdout).toContain('E2E');
    const bad = await spindle(['invoke', 'hello-e2e'], '{"name": 5}');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('name');

    const again = await spindle(['up', '--filter', 'hello-e2e']);
    expect(again.stdout + again.stderr).toMatch(/unchanged/);
  });

  it('invokes asynchronously: a call id at once, the result POSTed to the callback', async () => {
    const { createServer } = await import('node:http');
    let deliver!: (v: { headers: Record<string, unknown>; body: string }) => void;
    const received = new Promise<{ headers: Record<string, unknown>; body: string }>((r) => (deliver = r));
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        res.end();
        deliver({ headers: req.headers, body });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      const queued = await spindle(['invoke', 'hello-e2e', '--async', '--callback', `http://127.0.0.1:${port}/done`], JSON.stringify({ name: 'Later' }));
      expect(queued.code, queued.stderr).toBe(0);
      const callId = queued.stdout.trim().split(/\s+/).pop()!;
      const { headers, body } = await received;
      expect(body).toContain('Later');
      expect(headers['x-function-status']).toBe('200');
      expect(String(headers['x-call-id'])).toBe(callId);
    } finally {
      server.close();
    }
  });

  it('lists, describes, scales, shows logs and manages secrets', async () => {
    const list = await spindle(['list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/echo/);
    expect(list.stdout).toMatch(/hello-e2e/);
    const described = await spindle(['describe', 'echo']);
    expect(described.stdout).toMatch(/bundle:\/\/sha256:/);
    const scaled = await spindle(['scale', 'echo', '--replicas', '2']);
    expect(scaled.code, scaled.stderr).toBe(0);
    // GPU functions' lines come from the runner.
    const gpuLogs = await spindle(['logs', 'vad']);
    expect(gpuLogs.code, gpuLogs.stderr).toBe(0);
    expect(gpuLogs.stdout).toContain('gpu function loaded');
    const logs = await spindle(['logs', 'hello-e2e', '--tail', '20']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('listening');
    const secret = await spindle(['secret', 'create', 'e2e-token', '--from-literal', 'tok-123']);
    expect(secret.code, secret.stderr).toBe(0);
    const secrets = await spindle(['secret', 'list']);
    expect(secrets.stdout).toContain('e2e-token');
    expect(secrets.stdout).not.toContain('tok-123');
  });

  it('up --watch redeploys only the changed function within about a second of a save', async () => {
    const watcher = await spawnUntil(process.execPath, [SPINDLE, 'up', '--watch'], /watching \d+ functions?/, { cwd: project, env, timeoutMs: 60_000 });
    try {
      const file = join(project, 'functions', 'hello-e2e', 'handler.ts');
      const source = await readFile(file, 'utf8');
      expect(source).toMatch(/Hello/);
      const saved = Date.now();
      await writeFile(file, source.replace(/Hello/g, 'Howdy'));
      let text = '';
      while (Date.now() - saved < 10_000) {
        const res = await fetch(`${gateway}/function/hello-e2e`, { method: 'POST', body: JSON.stringify({ name: 'W' }) });
        text = await res.text();
        if (text.includes('Howdy')) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const elapsed = Date.now() - saved;
      expect(text).toContain('Howdy');
      // "About a second": generous here because CI shares two cores with the whole suite.
      expect(elapsed).toBeLessThan(5000);
      const output = watcher.output();
      expect(output).toMatch(/hello-e2e\s+redeployed/);
      expect(output).not.toMatch(/echo\s+redeployed/);
    } finally {
      watcher.child.kill('SIGINT');
    }
  });

  it('survives kill -9 of the platform: replicas go with it, a restart brings every function back', async () => {
    const before = await replicaPids();
    expect(before.length).toBeGreaterThanOrEqual(3);
    server!.kill('SIGKILL');
    for (let i = 0; i < 100 && (await replicaPids()).length; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await replicaPids()).toEqual([]);
    await startServer();
    const res = await fetch(`${gateway}/function/hello-e2e`, { method: 'POST', body: JSON.stringify({ name: 'Back' }) });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Howdy, Back');
    // A restart waits for the GPU functions' models to warm up (ISNet on the CPU: several seconds, more under load).
  }, 120_000);

  it('removes a function', async () => {
    const removed = await spindle(['remove', 'hello-e2e']);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await fetch(`${gateway}/function/hello-e2e`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('names the line of a malformed stack.yml', async () => {
    const broken = join(project, 'broken.yml');
    await writeFile(broken, 'provider:\n  name: spindle\nfunctions:\n  echo:\n    lang: python\n    handler: ./functions/echo\n');
    const res = await spindle(['build', '-f', 'broken.yml']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/broken\.yml:5:\d+: .*lang/);
    await writeFile(broken, 'provider:\n  name: spindle\nfunctions:\n  echo: [unclosed\n');
    const syntax = await spindle(['build', '-f', 'broken.yml']);
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toMatch(/broken\.yml:\d+:\d+/);
  });

  it('Ctrl-C stops the platform and every replica', async () => {
    const pids = await replicaPids();
    expect(pids.length).toBeGreaterThan(0);
    const exited = new Promise((r) => server!.once('exit', r));
    server!.kill('SIGINT');
    await exited;
    server = undefined;
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });
});
