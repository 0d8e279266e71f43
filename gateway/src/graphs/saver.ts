/**
 * LangGraph's PostgresSaver, with each `put`, `putWrites` and `deleteThread` sent as ONE statement
 * (data-modifying CTEs, which Postgres applies atomically). Upstream sends BEGIN, one statement per blob
 * or write, and COMMIT; with checkpoints stored before every step, those round trips were most of a
 * node's orchestration cost (a 10-node run: 138 checkpoint queries upstream, 25 here).
 *
 * The writes are our own SQL against the tables PostgresSaver.setup() creates (upstream's migrations
 * 0 to CHECKPOINT_MIGRATION; createCheckpointer refuses tables at any other version), serialized with
 * the public `serde` the same way upstream does. Reads (getTuple, list) and setup() are upstream's.
 * The conformance suite `@langchain/langgraph-checkpoint-validation` runs against this class
 * (saver.conformance.test.ts), and saver.test.ts compares it with PostgresSaver row by row.
 */
import type { RunnableConfig } from '@langchain/core/runnables';
import { WRITES_IDX_MAP, type ChannelVersions, type Checkpoint, type CheckpointMetadata, type PendingWrite } from '@langchain/langgraph-checkpoint';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import type pg from 'pg';
import { quoteSchema } from '../store/migrate.ts';
import { oneStatement, params } from '../store/sql.ts';

/** The version in `checkpoint_migrations` whose table shapes the statements below are written for. */
export const CHECKPOINT_MIGRATION = 4;

/** Called once a task's writes are stored: what finished is durable from then on. */
export type WritesListener = (threadId: string, taskId: string, writes: PendingWrite[]) => void;

/** A channel value as stored in checkpoint_blobs: `empty` (no bytes) when the channel has no value. */
type Blob = { channel: string; version: string; type: string; bytes: Uint8Array | null };

export class BatchedPostgresSaver extends PostgresSaver {
  private readonly writeListeners = new Set<WritesListener>();
  private readonly tables: { checkpoints: string; blobs: string; writes: string; migrations: string };

  constructor(
    private readonly db: pg.Pool,
    options: { schema: string },
  ) {
    super(db, undefined, options);
    const schema = quoteSchema(options.schema);
    this.tables = {
      checkpoints: `${schema}.checkpoints`,
      blobs: `${schema}.checkpoint_blobs`,
      writes: `${schema}.checkpoint_writes`,
      migrations: `${schema}.checkpoint_migrations`,
    };
  }

  /** Throws unless the tables are at CHECKPOINT_MIGRATION: a newer upstream may have changed their shape. */
  async checkTables(client: Pick<pg.ClientBase, 'query'> = this.db): Promise<void> {
    const { rows } = await client.query<{ v: number | null }>(`SELECT max(v) AS v FROM ${this.tables.migrations}`);
    const v = rows[0]?.v ?? null;
    if (v !== CHECKPOINT_MIGRATION) {
      throw new Error(
        `checkpoint tables are at migration ${v}, BatchedPostgresSaver writes for migration ${CHECKPOINT_MIGRATION}: ` +
          'compare gateway/src/graphs/saver.ts with the migrations of @langchain/langgraph-checkpoint-postgres',
      );
    }
  }

  override async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    if (config.configurable === undefined) throw new Error('Missing "configurable" field in "config" param');
    const { thread_id, checkpoint_ns = '', checkpoint_id } = config.configurable;
    const [blobs, storedMetadata] = await Promise.all([this.dumpBlobs(checkpoint.channel_values, newVersions), this.dumpMetadata(metadata)]);
    // As upstream: the checkpoint row holds everything but the channel values, which are blobs.
    const { channel_values: _values, ...stored } = checkpoint;
    const p = params();
    const thread = p(thread_id);
    const ns = p(checkpoint_ns);
    const statements: string[] = [];
    if (blobs.length > 0) {
      const values = blobs.map((b) => `(${thread}, ${ns}, ${p(b.channel)}, ${p(b.version)}, ${p(b.type)}, ${p(b.bytes)})`);
      statements.push(
        `INSERT INTO ${this.tables.blobs} (thread_id, checkpoint_ns, channel, version, type, blob) VALUES ${values.join(', ')}
         ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING`,
      );
    }
    statements.push(
      `INSERT INTO ${this.tables.checkpoints} (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
       VALUES (${thread}, ${ns}, ${p(checkpoint.id)}, ${p(checkpoint_id)}, ${p(stored)}, ${p(storedMetadata)})
       ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata`,
    );
    await this.db.query(oneStatement(statements), p.values);
    return { configurable: { thread_id, checkpoint_ns, checkpoint_id: checkpoint.id } };
  }

  /** Calls `fn` after each task's writes are stored; returns the function that stops it. */
  onWritesStored(fn: WritesListener): () => void {
    this.writeListeners.add(fn);
    return () => this.writeListeners.delete(fn);
  }

  override async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string): Promise<void> {
    if (writes.length === 0) return;
    const { thread_id, checkpoint_ns, checkpoint_id } = config.configurable ?? {};
    // As upstream: writes to special channels only (errors, interrupts, ...) replace what the task
    // stored at their fixed negative index; any other batch keeps what is already there.
    const replace = writes.every(([channel]) => channel in WRITES_IDX_MAP);
    const dumped = await Promise.all(
      writes.map(async ([channel, value], i) => {
        const [type, bytes] = await this.serde.dumpsTyped(value);
        return { idx: WRITES_IDX_MAP[channel] ?? i, channel, type, bytes };
      }),
    );
    // Upstream applies the rows one by one; one INSERT may touch a key only once, so keep the row the
    // sequence would have left: the last one when replacing, the first one otherwise.
    const byIdx = new Map<number, (typeof dumped)[number]>();
    for (const w of dumped) if (replace || !byIdx.has(w.idx)) byIdx.set(w.idx, w);
    const p = params();
    const key = `${p(thread_id)}, ${p(checkpoint_ns)}, ${p(checkpoint_id)}, ${p(taskId)}`;
    const values = [...byIdx.values()].map((w) => `(${key}, ${p(w.idx)}, ${p(w.channel)}, ${p(w.type)}, ${p(w.bytes)})`);
    await this.db.query(
      `INSERT INTO ${this.tables.writes} (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob) VALUES ${values.join(', ')}
       ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO ${replace ? 'UPDATE SET channel = EXCLUDED.channel, type = EXCLUDED.type, blob = EXCLUDED.blob' : 'NOTHING'}`,
      p.values,
    );
    const threadId = String(thread_id);
    for (const fn of this.writeListeners) fn(threadId, taskId, writes);
  }

  override async deleteThread(threadId: string): Promise<void> {
    const p = params();
    const thread = p(threadId);
    const { blobs, checkpoints, writes } = this.tables;
    await this.db.query(oneStatement([blobs, checkpoints, writes].map((table) => `DELETE FROM ${table} WHERE thread_id = ${thread}`)), p.values);
  }

  /** One row per channel with a new version, as upstream's `_dumpBlobs`. */
  private dumpBlobs(values: Record<string, unknown>, versions: ChannelVersions): Promise<Blob[]> {
    return Promise.all(
      Object.entries(versions).map(async ([channel, version]): Promise<Blob> => {
        if (!(channel in values)) return { channel, version: String(version), type: 'empty', bytes: null };
        const [type, bytes] = await this.serde.dumpsTyped(values[channel]);
        return { channel, version: String(version), type, bytes };
      }),
    );
  }

  /** The metadata as JSON text for the jsonb column, as upstream's `_dumpMetadata` (NULs dropped). */
  private async dumpMetadata(metadata: CheckpointMetadata): Promise<string> {
    const [, bytes] = await this.serde.dumpsTyped(metadata);
    return new TextDecoder().decode(bytes).replace(/\0/g, '');
  }
}
