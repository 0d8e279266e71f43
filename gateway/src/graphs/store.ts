/** Graph definitions and runs in Postgres (tables from migrations/010_graphs.sql). */
import type { GraphDefinition, RunEvent } from '@spindle/schemas';
import type { QueryResultRow } from 'pg';
import { BadRequestError } from '../errors.ts';
import type { Database } from '../store/types.ts';

/** A stored graph. */
export interface GraphRecord {
  name: string;
  definition: GraphDefinition;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A change to a node's record, stored with the event that reports it. */
export interface NodeChange {
  status: string;
  attempts?: number;
  started?: boolean;
  finished?: boolean;
  durationMs?: number;
  output?: unknown;
  error?: string;
}

/** An event waiting to be stored: numbered when it is written. */
export interface PendingEvent {
  type: RunEvent['type'];
  node?: string;
  data?: Record<string, unknown>;
  at: string;
  change?: NodeChange;
}

/** A run status change stored atomically with the event that reports it. */
export interface RunTransition {
  status: RunStatus;
  output?: unknown;
  error?: string;
}

/** Two changes to one node as one: later fields win, `started`/`finished` stick once set. */
function mergeChange(a: NodeChange, b: NodeChange): NodeChange {
  const out: NodeChange = { ...a };
  for (const [k, v] of Object.entries(b)) if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  out.started = Boolean(a.started || b.started);
  out.finished = Boolean(a.finished || b.finished);
  return out;
}

/** A run as `GET /runs/:id` shows it. */
export interface RunRecord {
  id: string;
  graph: string;
  graphVersion: number;
  definition: GraphDefinition;
  status: RunStatus;
  input: unknown;
  output: unknown;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** The LangGraph thread the run was started on (`/threads/ID/runs`); null for the others. Such runs keep their checkpoints. */
  threadId: string | null;
  /** Metadata given when the run was started through the LangGraph API. */
  metadata: Record<string, unknown> | null;
}

/** What a run may carry besides its graph and input. */
export interface RunOptions {
  threadId?: string;
  metadata?: Record<string, unknown>;
}

/** One node of a run. */
export interface RunNodeRecord {
  node: string;
  status: string;
  attempts: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  output: unknown;
  error: string | null;
  /** The input of its last attempt, from its `node.started` event (null before it started, or when too large to keep). */
  input: unknown;
  /** Its last `ctx.progress` report, from its `node.progress` events. */
  progress: { fraction: number; message: string | null } | null;
}

const toGraph = (r: QueryResultRow): GraphRecord => ({
  name: r.name,
  definition: r.definition,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toRun = (r: QueryResultRow): RunRecord => ({
  id: r.id,
  graph: r.graph,
  graphVersion: r.graph_version,
  definition: r.definition,
  status: r.status,
  input: r.input,
  output: r.output,
  error: r.error,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  threadId: r.thread_id ?? null,
  metadata: r.metadata ?? null,
});

/** Deployed graph definitions. */
export class GraphStore {
  constructor(private readonly db: Database) {}

  /** Creates or replaces `name`; the version increments. */
  async upsert(name: string, definition: GraphDefinition): Promise<GraphRecord> {
    const { rows } = await this.db.pool.query(
      `INSERT INTO graphs (name, definition, version) VALUES ($1, $2, 1)
       ON CONFLICT (name) DO UPDATE SET definition = EXCLUDED.definition, version = graphs.version + 1, updated_at = now()
       RETURNING *`,
      [name, JSON.stringify(definition)],
    );
    return toGraph(rows[0]);
  }

  async get(name: string): Promise<GraphRecord | null> {
    const { rows } = await this.db.pool.query('SELECT * FROM graphs WHERE name = $1', [name]);
    return rows[0] ? toGraph(rows[0]) : null;
  }

  async list(): Promise<GraphRecord[]> {
    const { rows } = await this.db.pool.query('SELECT * FROM graphs ORDER BY name');
    return rows.map(toGraph);
  }

  /** True when something was removed. */
  async remove(name: string): Promise<boolean> {
    const { rowCount } = await this.db.pool.query('DELETE FROM graphs WHERE name = $1', [name]);
    return rowCount === 1;
  }
}

/** Filters and keyset cursor for listing runs. */
export interface RunQuery {
  graph?: string;
  status?: string;
  /** Runs created at or after this time. */
  since?: Date;
  /** Runs created before this time. */
  until?: Date;
  limit: number;
  cursor?: string;
}

function decodeCursor(cursor: string): { at: string; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof at === 'string' && typeof id === 'string') return { at, id };
  } catch {
    // fall through
  }
  throw new BadRequestError('query "cursor" is not a cursor this API returned');
}

/** Runs, their nodes and their events. */
export class RunStore {
  constructor(private readonly db: Database) {}

  async create(id: string, graph: GraphRecord, input: unknown, options: RunOptions = {}): Promise<RunRecord> {
    const { rows } = await this.db.pool.query(
      `INSERT INTO runs (id, graph, graph_version, definition, status, input, thread_id, metadata) VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7) RETURNING *`,
      [id, graph.name, graph.version, JSON.stringify(graph.definition), JSON.stringify(input ?? null), options.threadId ?? null, options.metadata ? JSON.stringify(options.metadata) : null],
    );
    return toRun(rows[0]);
  }

  async get(id: string): Promise<RunRecord | null> {
    // Only a UUID can name a run: anything else (36 dashes included) would fail Postgres's uuid cast with a 500.
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
    const { rows } = await this.db.pool.query('SELECT * FROM runs WHERE id = $1', [id]);
    return rows[0] ? toRun(rows[0]) : null;
  }

  /** The runs of a LangGraph thread, newest first. */
  async ofThread(threadId: string, q: { limit: number; offset?: number; status?: string }): Promise<RunRecord[]> {
    const params: unknown[] = [threadId, q.limit, q.offset ?? 0];
    const status = q.status ? `AND status = $${params.push(q.status)}` : '';
    const { rows } = await this.db.pool.query(`SELECT * FROM runs WHERE thread_id = $1 ${status} ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, params);
    return rows.map(toRun);
  }

  /** Runs that were executing when a gateway stopped: resumed at start-up. */
  async unfinished(): Promise<RunRecord[]> {
    const { rows } = await this.db.pool.query(`SELECT * FROM runs WHERE status IN ('queued', 'running') ORDER BY created_at`);
    return rows.map(toRun);
  }

  /** Runs newest first, filtered, `limit` at a time; `next` is the cursor of the following page. */
  async list(q: RunQuery): Promise<{ runs: RunRecord[]; next: string | null }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.graph) where.push(`graph = $${params.push(q.graph)}`);
    if (q.status) where.push(`status = $${params.push(q.status)}`);
    if (q.since) where.push(`created_at >= $${params.push(q.since)}`);
    if (q.until) where.push(`created_at < $${params.push(q.until)}`);
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      where.push(`(created_at, id) < ($${params.push(c.at)}::timestamptz, $${params.push(c.id)}::uuid)`);
    }
    const sql = `SELECT *, created_at::text AS at_text FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT $${params.push(q.limit + 1)}`;
    const { rows } = await this.db.pool.query(sql, params);
    const more = rows.length > q.limit;
    const runs = rows.slice(0, q.limit).map(toRun);
    const last = rows[q.limit - 1];
    // created_at is read back as text so the cursor keeps Postgres's microseconds.
    const next = more && last ? Buffer.from(JSON.stringify([last.at_text, last.id])).toString('base64url') : null;
    return { runs, next };
  }

  async nodes(runId: string): Promise<RunNodeRecord[]> {
    const [{ rows }, { rows: events }] = await Promise.all([
      this.db.pool.query('SELECT * FROM run_nodes WHERE run_id = $1 ORDER BY started_at NULLS LAST, node', [runId]),
      // The latest node.started (input) and node.progress event of each node.
      this.db.pool.query(
        `SELECT DISTINCT ON (node, type) node, type, data FROM run_events WHERE run_id = $1 AND type IN ('node.started', 'node.progress') ORDER BY node, type, seq DESC`,
        [runId],
      ),
    ]);
    const latest = (node: string, type: string) => events.find((e) => e.node === node && e.type === type)?.data ?? null;
    return rows.map((r) => ({
      input: latest(r.node, 'node.started')?.input ?? null,
      progress: ((p) => (p ? { fraction: Number(p.fraction), message: p.message ?? null } : null))(latest(r.node, 'node.progress')),
      node: r.node,
      status: r.status,
      attempts: r.attempts,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      durationMs: r.duration_ms,
      output: r.output,
      error: r.error,
    }));
  }

  /**
   * Stores events of ONE run and the node record changes they report in ONE statement (data-modifying
   * CTEs), numbering them after the run's last stored event: the events of a run are written in
   * batches, so a node costs about one round trip however many events it emits. With `transition`,
   * the batch's last event is stored only if the run's status changes in the same statement (a run
   * that already finished keeps its status, and that event is dropped), so a status and the event
   * that reports it are never split by a crash. Returns the stored events, numbered.
   */
  async appendEvents(runId: string, batch: PendingEvent[], transition?: RunTransition): Promise<RunEvent[]> {
    if (batch.length === 0) return [];
    const params: unknown[] = [runId];
    const p = (v: unknown) => `$${params.push(v)}`;
    const ctes: string[] = [];
    if (transition) {
      const finished = transition.status === 'succeeded' || transition.status === 'failed' || transition.status === 'cancelled';
      const status = p(transition.status);
      ctes.push(`t AS (UPDATE runs SET status = ${status}::text,
         output = COALESCE(${p(transition.output === undefined ? null : JSON.stringify(transition.output))}::jsonb, output),
         error = COALESCE(${p(transition.error ?? null)}::text, error),
         started_at = CASE WHEN ${status}::text = 'running' AND started_at IS NULL THEN now() ELSE started_at END,
         finished_at = CASE WHEN ${p(finished)}::boolean THEN now() ELSE finished_at END
       WHERE id = $1 AND status NOT IN ('succeeded', 'failed', 'cancelled') RETURNING id)`);
    }
    const merged = new Map<string, { at: string; change: NodeChange }>();
    for (const { node, at, change } of batch) {
      if (!change || node === undefined) continue;
      const prev = merged.get(node);
      merged.set(node, { at, change: prev ? mergeChange(prev.change, change) : change });
    }
    for (const [node, { at, change }] of merged) {
      const attempts = p(change.attempts ?? null);
      const ts = p(at);
      ctes.push(`n${ctes.length} AS (INSERT INTO run_nodes (run_id, node, status, attempts, started_at, finished_at, duration_ms, output, error)
         VALUES ($1, ${p(node)}, ${p(change.status)}, COALESCE(${attempts}::int, 0), CASE WHEN ${p(change.started ?? false)}::boolean THEN ${ts}::timestamptz END,
           CASE WHEN ${p(change.finished ?? false)}::boolean THEN ${ts}::timestamptz END, ${p(change.durationMs ?? null)}::double precision,
           ${p(change.output === undefined ? null : JSON.stringify(change.output))}::jsonb, ${p(change.error ?? null)}::text)
         ON CONFLICT (run_id, node) DO UPDATE SET status = EXCLUDED.status,
           attempts = COALESCE(${attempts}::int, run_nodes.attempts),
           started_at = COALESCE(run_nodes.started_at, EXCLUDED.started_at),
           finished_at = COALESCE(EXCLUDED.finished_at, run_nodes.finished_at),
           duration_ms = COALESCE(EXCLUDED.duration_ms, run_nodes.duration_ms),
           output = COALESCE(EXCLUDED.output, run_nodes.output),
           error = COALESCE(EXCLUDED.error, run_nodes.error))`);
    }
    ctes.push('base AS (SELECT COALESCE(MAX(seq), 0) AS m FROM run_events WHERE run_id = $1)');
    const values = batch
      .map((e, i) => `(${p(i + 1)}::int, ${p(e.type)}::text, ${p(e.node ?? null)}::text, ${p(e.data === undefined ? null : JSON.stringify(e.data))}::jsonb, ${p(e.at)}::timestamptz)`)
      .join(', ');
    const last = batch.length;
    const sql = `WITH ${ctes.join(', ')}
      INSERT INTO run_events (run_id, seq, type, node, data, at)
      SELECT $1, base.m + v.ord, v.type, v.node, v.data, v.at FROM base, (VALUES ${values}) AS v(ord, type, node, data, at)
      ${transition ? `WHERE v.ord < ${last} OR EXISTS (SELECT 1 FROM t)` : ''}
      RETURNING seq`;
    const { rows } = await this.db.pool.query<{ seq: number }>(sql, params);
    if (rows.length === 0) return [];
    const first = Math.min(...rows.map((r) => r.seq));
    return batch.slice(0, rows.length).map((e, i) => ({
      seq: first + i,
      runId,
      type: e.type,
      at: e.at,
      ...(e.node !== undefined && { node: e.node }),
      ...(e.data !== undefined && { data: e.data }),
    }));
  }

  /** Events of a run after `afterSeq`, in order. */
  async events(runId: string, afterSeq = 0): Promise<RunEvent[]> {
    const { rows } = await this.db.pool.query('SELECT * FROM run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq', [runId, afterSeq]);
    return rows.map((r) => ({
      seq: r.seq,
      runId: r.run_id,
      type: r.type,
      ...(r.node !== null && { node: r.node }),
      at: new Date(r.at).toISOString(),
      ...(r.data !== null && { data: r.data }),
    }));
  }
}
