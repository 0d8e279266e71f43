/**
 * LangGraph's PostgresSaver, with each `put` and `putWrites` sent as ONE statement: the saver's own
 * upserts become data-modifying CTEs of a single INSERT, which Postgres applies atomically. Upstream
 * sends BEGIN, one statement per blob or write, and COMMIT (about 11 round trips per graph step); with
 * checkpoints stored before every step, those round trips were most of a node's orchestration cost.
 * Reads (getTuple, list) are upstream's.
 */
import type { RunnableConfig } from '@langchain/core/runnables';
import { WRITES_IDX_MAP, type ChannelVersions, type Checkpoint, type CheckpointMetadata, type PendingWrite } from '@langchain/langgraph-checkpoint';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import type pg from 'pg';
import { combine } from '../store/sql.ts';

/** The upstream statements this class reuses (a private field of PostgresSaver). */
interface Statements {
  UPSERT_CHECKPOINT_BLOBS_SQL: string;
  UPSERT_CHECKPOINTS_SQL: string;
  UPSERT_CHECKPOINT_WRITES_SQL: string;
  INSERT_CHECKPOINT_WRITES_SQL: string;
}

/** Called once a task's writes are stored: what finished is durable from then on. */
export type WritesListener = (threadId: string, taskId: string, writes: PendingWrite[]) => void;

export class BatchedPostgresSaver extends PostgresSaver {
  private readonly writeListeners = new Set<WritesListener>();

  constructor(
    private readonly db: pg.Pool,
    options: { schema: string },
  ) {
    super(db, undefined, options);
  }

  private get statements(): Statements {
    return (this as unknown as { SQL_STATEMENTS: Statements }).SQL_STATEMENTS;
  }

  override async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    if (config.configurable === undefined) throw new Error('Missing "configurable" field in "config" param');
    const { thread_id, checkpoint_ns = '', checkpoint_id } = config.configurable;
    const [blobs, serializedMetadata] = await Promise.all([
      this._dumpBlobs(thread_id, checkpoint_ns, checkpoint.channel_values, newVersions),
      this._dumpMetadata(metadata),
    ]);
    const sql = this.statements;
    const parts: Array<[string, unknown[]]> = blobs.map((b) => [sql.UPSERT_CHECKPOINT_BLOBS_SQL, b]);
    parts.push([sql.UPSERT_CHECKPOINTS_SQL, [thread_id, checkpoint_ns, checkpoint.id, checkpoint_id, this._dumpCheckpoint(checkpoint), serializedMetadata]]);
    const [text, params] = combine(parts);
    await this.db.query(text, params);
    return { configurable: { thread_id, checkpoint_ns, checkpoint_id: checkpoint.id } };
  }

  /** Calls `fn` after each task's writes are stored; returns the function that stops it. */
  onWritesStored(fn: WritesListener): () => void {
    this.writeListeners.add(fn);
    return () => this.writeListeners.delete(fn);
  }

  override async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string): Promise<void> {
    if (writes.length === 0) return;
    const sql = this.statements;
    const query = writes.every(([channel]) => channel in WRITES_IDX_MAP) ? sql.UPSERT_CHECKPOINT_WRITES_SQL : sql.INSERT_CHECKPOINT_WRITES_SQL;
    const dumped = await this._dumpWrites(config.configurable?.thread_id, config.configurable?.checkpoint_ns, config.configurable?.checkpoint_id, taskId, writes);
    const [text, params] = combine(dumped.map((w) => [query, w]));
    await this.db.query(text, params);
    const threadId = String(config.configurable?.thread_id);
    for (const fn of this.writeListeners) fn(threadId, taskId, writes);
  }
}
