/**
 * A run survives kill -9 of the gateway: the platform runs as its own process (`spindle start`), a
 * 4-node chain is killed while node 3 is in flight, and after a restart the run finishes from its last
 * checkpoint. Invocations are counted by a server in the test: finished nodes are not run again.
 * Also drives `spindle run --follow` and `spindle runs` against the demo graph.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MACHINE_PG, ROOT, run, spawnUntil, tempDir, uniqueName } from './harness.ts';

const SPINDLE = join(ROOT, 'cli', 'bin', 'spindle.mjs');
const schemas: string[] = [];
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  if (!schemas.length) return;
  const client = new pg.Client({ connectionString: MACHINE_PG });
  await client.connect();
  for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await client.end();
});

/** Counts POSTed labels. */
async function counter(): Promise<{ url: string; counts: Map<string, number>; server: Server }> {
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      counts.set(body, (counts.get(body) ?? 0) + 1);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, counts, server };
}

async function project(counterUrl: string): Promise<string> {
  const dir = await tempDir('spindle-resume-');
  await mkdir(join(dir, 'functions'), { recursive: true });
  for (const fn of ['greet', 'shout', 'wordcount', 'report']) await cp(join(ROOT, 'functions', fn), join(dir, 'functions', fn), { recursive: true });
  await cp(join(ROOT, 'tests', 'fixtures', 'tick'), join(dir, 'functions', 'tick'), { recursive: true });
  const stack = `provider:
  name: spindle
functions:
  tick:
    handler: ./functions/tick
    environment:
      COUNTER_URL: ${counterUrl}
  greet: { handler: ./functions/greet }
  shout: { handler: ./functions/shout }
  wordcount: { handler: ./functions/wordcount }
  report: { handler: ./functions/report }
graphs:
  chain:
    nodes:
      n1: { function: tick, input: { label: n1 } }
      n2: { function: tick, input: { label: n2, ticks: "{{ nodes.n1.output.ticks }}" } }
      n3: { function: tick, input: { label: n3, ms: 1500, ticks: "{{ nodes.n2.output.ticks }}" } }
      n4: { function: tick, input: { label: n4, ticks: "{{ nodes.n3.output.ticks }}" } }
  demo:
    example: { name: Ada }
    nodes:
      greet: { function: greet, input: { name: "{{ input.name }}" } }
      shout: { function: shout, input: { text: "{{ nodes.greet.output.greeting }}" } }
      count: { function: wordcount, input: { text: "{{ nodes.greet.output.greeting }}" } }
      report: { function: report, input: { loud: "{{ nodes.shout.output.text }}", words: "{{ nodes.count.output.words }}" } }
`;
  await writeFile(join(dir, 'stack.yml'), stack);
  return dir;
}

const databases = [
  { name: 'embedded PGlite', env: (): NodeJS.ProcessEnv => ({}) },
  {
    name: 'machine PostgreSQL',
    env: (): NodeJS.ProcessEnv => {
      const schema = uniqueName('spindle_resume');
      schemas.push(schema);
      return { DATABASE_URL: MACHINE_PG, DATABASE_SCHEMA: schema };
    },
  },
];

describe.each(databases)('graph runs on $name', ({ env: dbEnv }) => {
  it('resume after kill -9 without re-running finished nodes; spindle run --follow and spindle runs work', async () => {
    const count = await counter();
    const dir = await project(count.url);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const env = { ...dbEnv(), PORT: String(port), OPENFAAS_URL: `http://127.0.0.1:${port}`, SPINDLE_NATS_PREFIX: uniqueName('resume') };
    const start = async () => {
      const s = await spawnUntil(process.execPath, [SPINDLE, 'start'], /Spindle gateway listening on (http:\S+)/, { cwd: dir, env, timeoutMs: 90_000 });
      children.push(s.child);
      return s;
    };
    const first = await start();
    const url = first.match[1];
    const password = (await readFile(join(dir, '.spindle', 'admin-password'), 'utf8')).trim();
    const auth = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
    const api = (method: string, path: string, body?: unknown) =>
      fetch(url + path, { method, headers: { authorization: auth, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

    const { runId } = await (await api('POST', '/graphs/chain/runs', { input: {} })).json();
    // Wait until n3 is in flight, then kill the whole platform.
    for (let i = 0; i < 200 && !count.counts.get('n3'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(count.counts.get('n3')).toBe(1);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    await start();
    let status = '';
    let body: any;
    for (let i = 0; i < 200 && status !== 'succeeded' && status !== 'failed'; i++) {
      body = await (await api('GET', `/runs/${runId}`)).json();
      status = body.status;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status, JSON.stringify(body)).toBe('succeeded');
    expect(body.output).toEqual({ label: 'n4', ticks: 4 });
    // n1 and n2 finished before the kill: not run again. n3 was in flight: run again. n4 once.
    expect(Object.fromEntries(count.counts)).toEqual({ n1: 1, n2: 1, n3: 2, n4: 1 });

    const follow = await run(process.execPath, [SPINDLE, 'run', 'demo', '--follow'], { cwd: dir, env, timeoutMs: 60_000 });
    expect(follow.code, follow.stderr).toBe(0);
    expect(JSON.parse(follow.stdout)).toEqual({ summary: 'HELLO, ADA! (2 words)' });
    expect(follow.stderr).toMatch(/greet\s+done in/);
    expect(follow.stderr).toMatch(/report\s+done in/);
    const runs = await run(process.execPath, [SPINDLE, 'runs', '--graph', 'chain'], { cwd: dir, env });
    expect(runs.stdout).toContain(runId);
    expect(runs.stdout).toMatch(/succeeded/);
    count.server.close();
  }, 180_000);
});
