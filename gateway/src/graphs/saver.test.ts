/**
 * BatchedPostgresSaver beside upstream's PostgresSaver, on the machine's PostgreSQL and on embedded
 * PGlite: the same operations leave the same rows and read back the same (including the special
 * channels whose writes replace earlier ones), each write is one round trip, and the listener the
 * executor relies on fires once writes are stored. The conformance suite is saver.conformance.test.ts.
 */
import { randomBytes } from 'node:crypto';
import type { RunnableConfig } from '@langchain/core/runnables';
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { emptyCheckpoint, uuid6, type BaseCheckpointSaver, type Checkpoint, type CheckpointMetadata, type PendingWrite } from '@langchain/langgraph-checkpoint';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedDatabase } from '../store/embedded.ts';
import { createCheckpointer } from './checkpoints.ts';
import { CHECKPOINT_MIGRATION } from './saver.ts';

const POSTGRES_URL = process.env.SPINDLE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** `pool`, with every statement sent through it (or a client it lends) noted in `texts`. */
function counted(pool: pg.Pool): { pool: pg.Pool; texts: string[] } {
  const texts: string[] = [];
  const note = (q: unknown) => texts.push(typeof q === 'string' ? q : (q as pg.QueryConfig).text);
  const wrap = <T extends object>(target: T, extra: Partial<Record<string | symbol, unknown>>): T =>
    new Proxy(target, {
      get(t, prop) {
        if (prop in extra) return extra[prop];
        const value = Reflect.get(t, prop);
        return typeof value === 'function' ? value.bind(t) : value;
      },
    });
  const query = (target: { query: (...a: unknown[]) => unknown }) => (...args: unknown[]) => {
    note(args[0]);
    return target.query(...args);
  };
  const proxy = wrap(pool, {
    query: query(pool as never),
    connect: async () => {
      const client = await pool.connect();
      return wrap(client, { query: query(client as never) });
    },
  });
  return { pool: proxy, texts };
}

/** Every row of the checkpoint tables in `schema`, in key order. */
async function rowsOf(pool: pg.Pool, schema: string): Promise<Record<string, unknown[]>> {
  const q = async (sql: string) => (await pool.query(sql)).rows;
  return {
    checkpoints: await q(`SELECT * FROM "${schema}".checkpoints ORDER BY thread_id, checkpoint_ns, checkpoint_id`),
    blobs: await q(`SELECT * FROM "${schema}".checkpoint_blobs ORDER BY thread_id, checkpoint_ns, channel, version`),
    writes: await q(`SELECT * FROM "${schema}".checkpoint_writes ORDER BY thread_id, checkpoint_ns, checkpoint_id, task_id, idx`),
  };
}

/** Everything list() and getTuple() return for the threads the scenario uses. */
async function readBack(saver: BaseCheckpointSaver, ids: string[]): Promise<unknown> {
  const all = async (config: RunnableConfig, options?: Parameters<BaseCheckpointSaver['list']>[1]) => {
    const out = [];
    for await (const t of saver.list(config, options)) out.push(t);
    return out;
  };
  const root = { configurable: { thread_id: 'a', checkpoint_ns: '' } };
  return {
    everything: await all({}),
    threadA: await all({ configurable: { thread_id: 'a' } }),
    child: await all({ configurable: { thread_id: 'a', checkpoint_ns: 'child' } }),
    loops: await all({}, { filter: { source: 'loop' } }),
    nested: await all({}, { filter: { tags: { run: 'r1' } } }),
    before: await all(root, { before: { configurable: { checkpoint_id: ids[2] } } }),
    limited: await all(root, { limit: 1 }),
    latest: await saver.getTuple(root),
    byId: await saver.getTuple({ configurable: { ...root.configurable, checkpoint_id: ids[0] } }),
    latestChild: await saver.getTuple({ configurable: { thread_id: 'a', checkpoint_ns: 'child' } }),
    missing: await saver.getTuple({ configurable: { thread_id: 'nobody' } }),
  };
}

/** The same operations, in the same order, against one saver; returns what each failure looked like. */
async function scenario(saver: BaseCheckpointSaver, ids: string[]): Promise<string[]> {
  const checkpoint = (id: string, values: Record<string, unknown>, versions: Record<string, number>): Checkpoint => ({
    ...emptyCheckpoint(),
    id,
    ts: '2025-01-01T00:00:00.000Z',
    channel_values: values,
    channel_versions: versions,
    versions_seen: { n1: { a: 1 } },
  });
  const meta = (source: CheckpointMetadata['source'], step: number, extra: Record<string, unknown> = {}): CheckpointMetadata => ({ source, step, parents: {}, ...extra });
  const root = { configurable: { thread_id: 'a', checkpoint_ns: '' } };

  // A first checkpoint: a channel without a value is an `empty` blob; bytes and odd text survive.
  const c0 = await saver.put(root, checkpoint(ids[0], { a: { n: 1 }, bytes: new Uint8Array([0, 1, 255]), text: "it's '$1'" }, { a: 1, bytes: 1, text: 1, gone: 1 }), meta('input', -1, { tags: { run: 'r1' } }), { a: 1, bytes: 1, text: 1, gone: 1 });
  // Its child; only `a` changed, and putting the same id again replaces checkpoint and metadata.
  const c1 = await saver.put(c0, checkpoint(ids[1], { a: { n: 2 }, bytes: new Uint8Array([0]), text: 'x' }, { a: 2, bytes: 1, text: 1 }), meta('loop', 0), { a: 2 });
  await saver.put(c0, checkpoint(ids[1], { a: { n: 2 } }, { a: 2, bytes: 1, text: 1 }), meta('loop', 0, { writes: { n1: 'again' } }), { a: 2 });
  const c2 = await saver.put(c1, checkpoint(ids[2], { a: { n: 3 } }, { a: 3, bytes: 1, text: 1 }), meta('loop', 1, { tags: { run: 'r1', other: true } }), { a: 3 });
  // No new versions at all, and a nested namespace whose parent is in the root namespace.
  await saver.put(c2, checkpoint(ids[3], {}, { a: 3 }), meta('update', 2), {});
  const child = await saver.put({ configurable: { thread_id: 'a', checkpoint_ns: 'child' } }, checkpoint(ids[4], { a: 'c' }, { a: 1 }), meta('loop', 0), { a: 1 });
  await saver.put({ configurable: { thread_id: 'b', checkpoint_ns: '' } }, checkpoint(ids[5], { a: 'b' }, { a: 1 }), meta('input', -1), { a: 1 });

  const writes: Array<[RunnableConfig, PendingWrite[], string]> = [
    // Regular writes: a second batch for the same task keeps the first.
    [c1, [['a', 1], ['b', 2]], 't1'],
    [c1, [['a', 'later'], ['c', 3]], 't1'],
    // Special channels only: the later batch replaces, and within one batch the last one wins.
    [c1, [['__error__', 'e1']], 't2'],
    [c1, [['__error__', 'e2']], 't2'],
    [c1, [['__interrupt__', { value: 'why' }], ['__error__', 'e3'], ['__resume__', 'yes']], 't3'],
    [c1, [['__error__', 'first'], ['__error__', 'last']], 't4'],
    [c1, [['__scheduled__', 's']], 't4'],
    // Mixed batches insert only: an existing special write stays, a repeated one keeps the first.
    [c1, [['x', 1], ['__error__', 'not stored']], 't2'],
    [c1, [['__error__', 'm1'], ['y', 1], ['__error__', 'm2']], 't5'],
    [c1, [['__pregel_tasks', { node: 'n2' }]], 't6'],
    [c2, [['a', null], ['a', undefined], ['a', "'$1'"]], 't1'],
    [child, [['a', 'c1']], 't1'],
    [child, [], 't9'],
  ];
  for (const [config, w, task] of writes) await saver.putWrites(config, w, task);

  const failures: string[] = [];
  const fail = async (what: string, op: () => Promise<unknown>) => {
    try {
      await op();
      failures.push(`${what}: stored`);
    } catch {
      failures.push(`${what}: threw`);
    }
  };
  await fail('put without configurable', () => saver.put({}, checkpoint(ids[6], {}, {}), meta('loop', 9), {}));
  await fail('putWrites without checkpoint_id', () => saver.putWrites({ configurable: { thread_id: 'a', checkpoint_ns: '' } }, [['a', 1]], 't7'));
  await fail('putWrites without thread_id', () => saver.putWrites({ configurable: { checkpoint_ns: '', checkpoint_id: ids[1] } }, [['a', 1]], 't7'));
  await fail('putWrites without checkpoint_ns', () => saver.putWrites({ configurable: { thread_id: 'a', checkpoint_id: ids[1] } }, [['a', 1]], 't7'));
  return failures;
}

/** A 10-node chain shaped like the executor's graphs (same channels and reducers), checkpointed 'sync'. */
function chain(saver: BaseCheckpointSaver) {
  const State = Annotation.Root({
    input: Annotation<unknown>(),
    outputs: Annotation<Record<string, unknown>>({ reducer: (a, b) => ({ ...a, ...b }), default: () => ({}) }),
    skipped: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
    done: Annotation<Record<string, unknown>>({ reducer: (a, b) => ({ ...a, ...b }), default: () => ({}) }),
  });
  const builder = new StateGraph(State) as unknown as StateGraph<typeof State.spec, typeof State.State, Partial<typeof State.State>, string>;
  for (let i = 1; i <= 10; i++) builder.addNode(`n${i}`, () => ({ outputs: { [`n${i}`]: { i } }, done: { [`n${i}`]: { status: 'succeeded', attempts: 1 } } }));
  builder.addEdge(START, 'n1');
  for (let i = 2; i <= 10; i++) builder.addEdge(`n${i - 1}`, `n${i}`);
  builder.addEdge('n10', END);
  return builder.compile({ checkpointer: saver });
}

function saverSuite(database: string, open: () => Promise<{ pool: pg.Pool; close: () => Promise<void> }>): void {
  describe(`BatchedPostgresSaver on ${database}`, () => {
    let pool: pg.Pool;
    let close: () => Promise<void>;
    let schemas: string[];
    const schema = () => {
      const name = `saver_test_${randomBytes(6).toString('hex')}`;
      schemas.push(name);
      return name;
    };

    beforeAll(async () => ({ pool, close } = await open()));
    afterAll(() => close());
    beforeEach(() => {
      schemas = [];
    });
    afterEach(async () => {
      for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    });

    it('leaves the same rows and reads back the same as PostgresSaver', async () => {
      const ids = Array.from({ length: 7 }, () => uuid6(-1));
      const [ours, theirs] = [schema(), schema()];
      const batched = await createCheckpointer({ pool, schema: ours });
      const upstream = new PostgresSaver(pool, undefined, { schema: theirs });
      await upstream.setup();

      const failures = await scenario(batched, ids);
      expect(failures).toEqual(await scenario(upstream, ids));
      expect(failures).toEqual([
        'put without configurable: threw',
        'putWrites without checkpoint_id: threw',
        'putWrites without thread_id: threw',
        'putWrites without checkpoint_ns: threw',
      ]);
      const rows = await rowsOf(pool, ours);
      expect(rows).toEqual(await rowsOf(pool, theirs));
      // What the semantics above mean, spelled out on the rows both left.
      const value = async (task: string, idx: number) => {
        const row = rows.writes.find((w) => (w as { task_id: string }).task_id === task && (w as { idx: number }).idx === idx && (w as { checkpoint_id: string }).checkpoint_id === ids[1]) as { type: string; blob: Buffer } | undefined;
        return row && batched.serde.loadsTyped(row.type, new Uint8Array(row.blob));
      };
      expect([await value('t1', 0), await value('t1', 1), await value('t2', -1), await value('t4', -1), await value('t5', -1)]).toEqual([1, 2, 'e2', 'last', 'm1']);
      expect(await readBack(batched, ids)).toEqual(await readBack(upstream, ids));

      await Promise.all([batched.deleteThread('a'), upstream.deleteThread('a')]);
      const left = await rowsOf(pool, ours);
      expect(left).toEqual(await rowsOf(pool, theirs));
      expect(left.checkpoints.map((r) => (r as { thread_id: string }).thread_id)).toEqual(['b']);
    });

    it('sends each put, putWrites and deleteThread as one statement (10-node run: at most 51 queries)', async () => {
      const counting = counted(pool);
      const batched = await createCheckpointer({ pool: counting.pool, schema: schema() });
      const upstreamCounting = counted(pool);
      const upstream = new PostgresSaver(upstreamCounting.pool, undefined, { schema: schema() });
      await upstream.setup();
      const calls = { put: 0, putWrites: 0, getTuple: 0, deleteThread: 0 };
      for (const method of Object.keys(calls) as Array<keyof typeof calls>) {
        const original = batched[method].bind(batched) as (...args: unknown[]) => Promise<unknown>;
        (batched as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
          calls[method]++;
          return original(...args);
        };
      }

      const run = async (saver: BaseCheckpointSaver, texts: string[], threadId: string) => {
        texts.length = 0;
        const final = await chain(saver).invoke({ input: { x: 1 } }, { configurable: { thread_id: threadId }, durability: 'sync' });
        await saver.deleteThread(threadId); // as the executor does once a run is finished
        return { final, queries: texts.length };
      };
      const ours = await run(batched, counting.texts, 'run-1');
      const theirs = await run(upstream, upstreamCounting.texts, 'run-1');
      expect(ours.final).toEqual(theirs.final);
      expect(Object.keys(ours.final.outputs)).toHaveLength(10);
      expect(calls.put).toBeGreaterThanOrEqual(11);
      expect(calls.putWrites).toBeGreaterThanOrEqual(10);
      // One statement per write call, plus the one read LangGraph starts with.
      expect(ours.queries).toBe(calls.put + calls.putWrites + calls.deleteThread + calls.getTuple);
      expect(ours.queries).toBeLessThanOrEqual(51);
      expect(theirs.queries).toBeGreaterThan(3 * ours.queries);
      console.log(`10-node run on ${database}: ${ours.queries} checkpoint queries (PostgresSaver: ${theirs.queries})`);
    });

    it('tells listeners about writes once they are stored, and not about writes that failed', async () => {
      const saver = await createCheckpointer({ pool, schema: schema() });
      const config = await saver.put({ configurable: { thread_id: 't', checkpoint_ns: '' } }, { ...emptyCheckpoint(), id: uuid6(-1) }, { source: 'input', step: -1, parents: {} }, {});
      const seen: unknown[] = [];
      const stop = saver.onWritesStored((threadId, taskId, writes) => {
        seen.push([threadId, taskId, writes]);
      });
      await saver.putWrites(config, [['a', 1]], 'task-1');
      expect(seen).toEqual([['t', 'task-1', [['a', 1]]]]);
      expect((await saver.getTuple(config))?.pendingWrites).toEqual([['task-1', 'a', 1]]);
      await expect(saver.putWrites({ configurable: { thread_id: 't', checkpoint_ns: '' } }, [['a', 2]], 'task-2')).rejects.toThrow();
      stop();
      await saver.putWrites(config, [['a', 3]], 'task-3');
      expect(seen).toHaveLength(1);
    });

    it('refuses checkpoint tables at a migration its writes were not written for', async () => {
      const name = schema();
      await createCheckpointer({ pool, schema: name });
      await pool.query(`INSERT INTO "${name}".checkpoint_migrations (v) VALUES ($1)`, [CHECKPOINT_MIGRATION + 1]);
      await expect(createCheckpointer({ pool, schema: name })).rejects.toThrow(`checkpoint tables are at migration ${CHECKPOINT_MIGRATION + 1}`);
    });
  });
}

saverSuite('PostgreSQL', async () => {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
  return { pool, close: () => pool.end() };
});

saverSuite('embedded PGlite', async () => {
  const db = new EmbeddedDatabase({ dataDir: null, schema: 'saver' });
  await db.ready();
  return { pool: db.pool, close: () => db.close() };
});
