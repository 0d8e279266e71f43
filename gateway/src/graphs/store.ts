/** Graph definitions and runs in Postgres (tables from migrations/010_graphs.sql). */
import type { GraphDefinition, RunEvent } from '@spindle/schemas';
import { BadRequestError } from '../errors.ts';
import type { Database } from '../store/types.ts';
import { combine } from '../store/sql.ts';

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

/** Two changes to one node as one: later fields win, `started`/`finished` stick once set. */
export function mergeChange(a: NodeChange, b: NodeChange): NodeChange {
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
}

const toGraph = (r: Record<string, any>): GraphRecord => ({
  name: r.name,
  definition: r.definition,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toRun = (r: Record<string, any>): RunRecord => ({
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

  async create(id: string, graph: GraphRecord, input: unknown): Promise<RunRecord> {
    const { rows } = await this.db.pool.query(
      `INSERT INTO runs (id, graph, graph_version, definition, status, input) VALUES ($1, $2, $3, $4, 'queued', $5) RETURNING *`,
      [id, graph.name, graph.version, JSON.stringify(graph.definition), JSON.stringify(input ?? null)],
    );
    return toRun(rows[0]);
  }

  async get(id: string): Promise<RunRecord | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const { rows } = await this.db.pool.query('SELECT * FROM runs WHERE id = $1', [id]);
    return rows[0] ? toRun(rows[0]) : null;
  }

  /** Moves a run to `status` unless it already finished; returns false when it had. */
  async setStatus(id: string, status: RunStatus, fields: { output?: unknown; error?: string } = {}): Promise<boolean> {
    const finished = status === 'succeeded' || status === 'failed' || status === 'cancelled';
    const { rowCount } = await this.db.pool.query(
      `UPDATE runs SET status = $2,
         output = COALESCE($3, output), error = COALESCE($4, error),
         started_at = CASE WHEN $2 = 'running' AND started_at IS NULL THEN now() ELSE started_at END,
         finished_at = CASE WHEN $5 THEN now() ELSE finished_at END
       WHERE id = $1 AND status NOT IN ('succeeded', 'failed', 'cancelled')`,
      [id, status, fields.output === undefined ? null : JSON.stringify(fields.output), fields.error ?? null, finished],
    );
    return rowCount === 1;
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
    const { rows } = await this.db.pool.query('SELECT * FROM run_nodes WHERE run_id = $1 ORDER BY started_at NULLS LAST, node', [runId]);
    return rows.map((r) => ({
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
   * Stores events and the node record changes they report in ONE statement (data-modifying CTEs): the
   * events of a run are written in batches, so a node costs about one round trip however many events
   * it emits. Changes to the same node are merged first (a statement may touch a row only once).
   */
  async appendEvents(batch: Array<{ event: RunEvent; change?: NodeChange }>): Promise<void> {
    if (batch.length === 0) return;
    const parts: Array<[string, unknown[]]> = [];
    const rows = batch.map(({ event }) => [event.runId, event.seq, event.type, event.node ?? null, event.data === undefined ? null : JSON.stringify(event.data), event.at]);
    const values = rows.map((_, i) => `($${i * 6 + 1}, $${i * 6 + 2}, $${i * 6 + 3}, $${i * 6 + 4}, $${i * 6 + 5}, $${i * 6 + 6})`).join(', ');
    parts.push([`INSERT INTO run_events (run_id, seq, type, node, data, at) VALUES ${values}`, rows.flat()]);
    const merged = new Map<string, { runId: string; node: string; at: string; change: NodeChange }>();
    for (const { event, change } of batch) {
      if (!change || event.node === undefined) continue;
      const key = `${event.runId}/${event.node}`;
      const prev = merged.get(key);
      merged.set(key, { runId: event.runId, node: event.node, at: event.at, change: prev ? mergeChange(prev.change, change) : change });
    }
    for (const { runId, node, at, change } of merged.values()) {
      parts.push([
        `INSERT INTO run_nodes (run_id, node, status, attempts, started_at, finished_at, duration_ms, output, error)
         VALUES ($1, $2, $3, COALESCE($4, 0), CASE WHEN $5 THEN $6::timestamptz END, CASE WHEN $7 THEN $6::timestamptz END, $8, $9, $10)
         ON CONFLICT (run_id, node) DO UPDATE SET status = EXCLUDED.status,
           attempts = COALESCE($4, run_nodes.attempts),
           started_at = COALESCE(run_nodes.started_at, EXCLUDED.started_at),
           finished_at = COALESCE(EXCLUDED.finished_at, run_nodes.finished_at),
           duration_ms = COALESCE(EXCLUDED.duration_ms, run_nodes.duration_ms),
           output = COALESCE(EXCLUDED.output, run_nodes.output),
           error = COALESCE(EXCLUDED.error, run_nodes.error)`,
        [runId, node, change.status, change.attempts ?? null, change.started ?? false, at, change.finished ?? false, change.durationMs ?? null, change.output === undefined ? null : JSON.stringify(change.output), change.error ?? null],
      ]);
    }
    // The node upserts go first as CTEs; the events INSERT is the main statement.
    const [text, params] = combine([...parts.slice(1), parts[0]]);
    await this.db.pool.query(text, params);
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

  /** The last event number of a run (0 when none). */
  async lastSeq(runId: string): Promise<number> {
    const { rows } = await this.db.pool.query('SELECT COALESCE(MAX(seq), 0) AS seq FROM run_events WHERE run_id = $1', [runId]);
    return Number(rows[0].seq);
  }
}
