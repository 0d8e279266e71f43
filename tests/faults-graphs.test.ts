/**
 * Graph runs survive kill -9 at any moment: a gateway process (with its replicas, one process group)
 * gets bursts of runs of the 4-node `demo` graph and is killed -9 at several delays after the last
 * 202 (before the first checkpoint, between nodes, during a node, after the last node before the run
 * is marked done), then started again on the same data. Every accepted run must finish exactly once:
 * succeeded with the right output, every node recorded once, its events numbered 1..n without a gap,
 * one `run.started`, one terminal event per node, and a final `run.succeeded` that closes the stream.
 * On embedded PGlite and on the machine's PostgreSQL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { Api, MACHINE_PG, ROOT, tempDir, uniqueName } from './harness.ts';
import { sseData } from './sse.ts';

const PASSWORD = 'faults-password';
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const DEMO = {
  nodes: {
    greet: { function: 'greet', input: { name: '{{ input.name }}' } },
    shout: { function: 'shout', input: { text: '{{ nodes.greet.output.greeting }}' } },
    count: { function: 'wordcount', input: { text: '{{ nodes.greet.output.greeting }}' } },
    report: { function: 'report', input: { loud: '{{ nodes.shout.output.text }}', words: '{{ nodes.count.output.words }}' } },
  },
};
const NODES = Object.keys(DEMO.nodes);

interface Gateway {
  child: ChildProcess;
  api: Api;
  log: () => string;
}

/** Starts tests/fixtures/gateway-process.ts as the leader of its own process group (its replicas join it). */
function startGateway(env: NodeJS.ProcessEnv): Promise<Gateway> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tests', 'fixtures', 'gateway-process.ts')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    cleanups.push(() => killGroup(child));
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${err}`)), 60_000);
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, api: new Api(m[1], PASSWORD), log: () => err });
      }
    });
    child.on('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${err}`)));
  });
}

async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    return;
  }
  await exited;
}

/** Reads a run's SSE stream to its end; throws when it does not close within `ms`. */
async function readEvents(api: Api, runId: string, ms = 3_000): Promise<Array<{ seq: number; type: string; node?: string }>> {
  const res = await fetch(`${api.url}/runs/${runId}/events`, { headers: { authorization: api.auth }, signal: AbortSignal.timeout(ms) });
  expect(res.status).toBe(200);
  return sseData(await res.text());
}

/** Checks the exactly-once invariants of one finished run; returns a description of what is wrong, or null. */
async function problems(api: Api, runId: string): Promise<string | null> {
  const run = await (await api.system('GET', `/runs/${runId}`)).json();
  if (run.status !== 'succeeded') return `status ${run.status}: ${run.error}`;
  if (JSON.stringify(run.output) !== JSON.stringify({ summary: 'HELLO, ADA! (2 words)' })) return `output ${JSON.stringify(run.output)}`;
  const nodes = (run.nodes as Array<{ node: string; status: string }>).map((n) => `${n.node}:${n.status}`).sort();
  if (JSON.stringify(nodes) !== JSON.stringify(NODES.map((n) => `${n}:succeeded`).sort())) return `nodes ${JSON.stringify(nodes)}`;
  let events: Awaited<ReturnType<typeof readEvents>>;
  try {
    events = await readEvents(api, runId);
  } catch (err) {
    return `event stream did not close: ${(err as Error).message}`;
  }
  const seqs = events.map((e) => e.seq);
  if (seqs.some((s, i) => s !== i + 1)) return `event numbers ${seqs.join(',')}`;
  const types = events.map((e) => e.type);
  if (types.filter((t) => t === 'run.started').length !== 1 || types[0] !== 'run.started') return `run.started: ${types.join(',')}`;
  if (types.filter((t) => t.startsWith('run.') && t !== 'run.started' && t !== 'run.resumed').length !== 1 || types.at(-1) !== 'run.succeeded') return `final: ${types.join(',')}`;
  for (const node of NODES) {
    const terminal = events.filter((e) => e.node === node && /^node\.(succeeded|failed|skipped)$/.test(e.type)).length;
    if (terminal !== 1) return `node ${node} has ${terminal} terminal events: ${types.join(',')}`;
  }
  return null;
}

const databases = [
  { name: 'embedded PGlite', env: (): NodeJS.ProcessEnv => ({}) },
  {
    name: 'machine PostgreSQL',
    env: (): NodeJS.ProcessEnv => {
      const schema = uniqueName('spindle_faults');
      cleanups.push(async () => {
        const client = new pg.Client({ connectionString: MACHINE_PG });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      });
      return { DATABASE_URL: MACHINE_PG, DATABASE_SCHEMA: schema };
    },
  },
];

describe.each(databases)('graph runs killed -9 at any moment, on $name', ({ name, env: dbEnv }) => {
  it('finish exactly once after a restart: every node recorded once, events complete and closed', async () => {
    const env: NodeJS.ProcessEnv = {
      ...dbEnv(),
      SPINDLE_DATA_DIR: await tempDir('spindle-faults-'),
      SPINDLE_ADMIN_PASSWORD: PASSWORD,
      SPINDLE_NATS_PREFIX: uniqueName('faults'),
      SPINDLE_REDIS_PREFIX: uniqueName('faults'),
      SPINDLE_ASYNC_WORKER: 'false',
      SPINDLE_DRAIN_MS: '500',
      PORT: '0',
      LOG_LEVEL: 'info',
    };
    let gw = await startGateway(env);
    for (const fn of ['greet', 'shout', 'wordcount', 'report']) expect((await gw.api.deploy(fn, fn)).status).toBeLessThan(300);
    expect((await gw.api.system('PUT', '/system/graphs/demo', DEMO)).status).toBeLessThan(300);
    for (const fn of ['greet', 'shout', 'wordcount', 'report']) await gw.api.waitReplicas(fn, 1);

    // Delays after the last 202: 0 kills runs before their first checkpoint; the others land
    // between nodes, during nodes, and after the last node of the early runs of a burst.
    const delays = [0, 25, 100];
    const tally = { accepted: 0, resumed: 0, fresh: 0, correct: 0 };
    /** How many runs were killed with k of their 4 nodes ended (k = 0..4), from the resume log. */
    const byNodesDone = [0, 0, 0, 0, 0];
    const wrong: string[] = [];
    for (const delay of delays) {
      const t0 = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await gw.api.system('POST', '/graphs/demo/runs', { input: { name: 'Ada' } });
        expect(res.status).toBe(202);
        ids.push((await res.json()).runId);
        await new Promise((r) => setTimeout(r, 8));
      }
      tally.accepted += ids.length;
      await new Promise((r) => setTimeout(r, delay));
      await killGroup(gw.child);
      const t1 = Date.now();
      gw = await startGateway(env);
      const t2 = Date.now();
      // Wait for every run to reach a final status (bounded).
      const deadline = Date.now() + 30_000;
      for (const id of ids) {
        for (;;) {
          const status = (await (await gw.api.system('GET', `/runs/${id}`)).json()).status;
          if (status !== 'queued' && status !== 'running') break;
          if (Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        const p = await problems(gw.api, id);
        if (p) wrong.push(`kill at +${delay} ms, run ${id}: ${p}`);
        else tally.correct++;
      }
      const resumedLines = gw.log().split('\n').filter((l) => l.includes('"msg":"resuming run"'));
      tally.resumed += resumedLines.filter((l) => l.includes('"from":"checkpoint"')).length;
      tally.fresh += resumedLines.filter((l) => l.includes('"from":"start"')).length;
      for (const l of resumedLines) byNodesDone[Number(JSON.parse(l).nodesDone)]++;
      if (process.env.DEBUG_FAULTS) console.log(`round +${delay}: submit+kill ${t1 - t0} ms, start ${t2 - t1} ms, check ${Date.now() - t2} ms, unfinished ${resumedLines.length}`);
    }
    console.log(
      `[faults-graphs ${name}] accepted ${tally.accepted}; unfinished at the kill ${tally.resumed + tally.fresh} (resumed from a checkpoint ${tally.resumed}, restarted from their input ${tally.fresh}; ` +
        `nodes ended at the kill 0..4: ${byNodesDone.join('/')}); finished correctly ${tally.correct}, wrong ${wrong.length}`,
    );
    expect(wrong).toEqual([]);
    expect(tally.correct).toBe(tally.accepted);
  }, 240_000);
});
