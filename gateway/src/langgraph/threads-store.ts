/**
 * Threads of the LangGraph Platform API in Postgres (migrations/035_langgraph_threads.sql): a record with
 * metadata; its runs point at it (runs.thread_id), and its status is its latest run's.
 */
import type { QueryResultRow } from 'pg';
import type { Database } from '../store/types.ts';

/** A stored thread, with what its latest run says about it. */
export interface ThreadRecord {
  id: string;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  /** The latest run's status (`queued`, `running`, …), null before the first run. */
  lastRunStatus: string | null;
  lastRunError: string | null;
}

/** LangGraph's thread status from the latest run's status. */
export function threadStatus(lastRunStatus: string | null): 'idle' | 'busy' | 'error' {
  if (lastRunStatus === 'queued' || lastRunStatus === 'running') return 'busy';
  return lastRunStatus === 'failed' ? 'error' : 'idle';
}

/** Filters of `POST /threads/search`. */
export interface ThreadQuery {
  metadata?: Record<string, unknown>;
  ids?: string[];
  status?: 'idle' | 'busy' | 'interrupted' | 'error';
  sortBy?: 'thread_id' | 'created_at' | 'updated_at';
  sortOrder?: 'asc' | 'desc';
  limit: number;
  offset: number;
}

const SORT_COLUMNS = { thread_id: 't.id', created_at: 't.created_at', updated_at: 't.updated_at' } as const;

/** The statuses of the latest run that give each thread status. */
const STATUS_SQL = {
  idle: `(r.status IS NULL OR r.status IN ('succeeded', 'cancelled'))`,
  busy: `r.status IN ('queued', 'running')`,
  error: `r.status = 'failed'`,
  interrupted: 'false',
} as const;

const SELECT = `SELECT t.*, r.status AS last_status, r.error AS last_error FROM langgraph_threads t
  LEFT JOIN LATERAL (SELECT status, error FROM runs WHERE thread_id = t.id ORDER BY created_at DESC, id DESC LIMIT 1) r ON true`;

const toThread = (r: QueryResultRow): ThreadRecord => ({
  id: r.id,
  metadata: r.metadata ?? {},
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  lastRunStatus: r.last_status ?? null,
  lastRunError: r.last_error ?? null,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a UUID (what thread ids are). */
export const isUuid = (id: string): boolean => UUID.test(id);

export class ThreadStore {
  constructor(private readonly db: Database) {}

  /** Creates a thread; null when `id` is taken. */
  async create(id: string, metadata: Record<string, unknown>): Promise<ThreadRecord | null> {
    const { rows } = await this.db.pool.query('INSERT INTO langgraph_threads (id, metadata) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id', [id, JSON.stringify(metadata)]);
    return rows[0] ? this.get(id) : null;
  }

  async get(id: string): Promise<ThreadRecord | null> {
    if (!UUID.test(id)) return null;
    const { rows } = await this.db.pool.query(`${SELECT} WHERE t.id = $1`, [id]);
    return rows[0] ? toThread(rows[0]) : null;
  }

  /** Merges `metadata` into the thread's; null when there is no such thread. */
  async update(id: string, metadata: Record<string, unknown>): Promise<ThreadRecord | null> {
    if (!UUID.test(id)) return null;
    const { rowCount } = await this.db.pool.query('UPDATE langgraph_threads SET metadata = metadata || $2::jsonb, updated_at = now() WHERE id = $1', [id, JSON.stringify(metadata)]);
    return rowCount === 1 ? this.get(id) : null;
  }

  /** Marks the thread updated (a run started on it). */
  async touch(id: string): Promise<void> {
    await this.db.pool.query('UPDATE langgraph_threads SET updated_at = now() WHERE id = $1', [id]);
  }

  /** Removes the thread and its runs (their events and nodes go with them); true when it existed. */
  async remove(id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const { rowCount } = await this.db.pool.query('DELETE FROM langgraph_threads WHERE id = $1', [id]);
    return rowCount === 1;
  }

  async search(q: ThreadQuery): Promise<ThreadRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.metadata && Object.keys(q.metadata).length > 0) where.push(`t.metadata @> $${params.push(JSON.stringify(q.metadata))}::jsonb`);
    if (q.ids) where.push(`t.id = ANY($${params.push(q.ids)}::uuid[])`);
    if (q.status) where.push(STATUS_SQL[q.status]);
    const order = `${SORT_COLUMNS[q.sortBy ?? 'created_at']} ${q.sortOrder === 'asc' ? 'ASC' : 'DESC'}, t.id`;
    const sql = `${SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT $${params.push(q.limit)} OFFSET $${params.push(q.offset)}`;
    const { rows } = await this.db.pool.query(sql, params);
    return rows.map(toThread);
  }
}
