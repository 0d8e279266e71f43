/** The runs API: start (`POST /graphs/:name/runs`), inspect, stream events (SSE), cancel, list. */
import type { FastifyPluginAsync } from 'fastify';
import type { RunEvent } from '@spindle/schemas';
import { BadRequestError, NotFoundError } from '../errors.ts';
import { Followers } from '../follow.ts';
import type { RunEvents } from '../graphs/events.ts';
import type { GraphExecutor } from '../graphs/executor.ts';
import type { RunRecord, RunStore } from '../graphs/store.ts';
import { openSse, type SseEvent } from '../sse.ts';
import { boundedBody, validName } from './validate.ts';

const STATUSES = new Set(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
/** Event numbers are a Postgres `int` (run_events.seq): a larger Last-Event-ID names no event and broke the replay query. */
const MAX_EVENT_SEQ = 2_147_483_647;

function view(run: RunRecord) {
  return {
    runId: run.id,
    graph: run.graph,
    graphVersion: run.graphVersion,
    status: run.status,
    input: run.input,
    output: run.output,
    error: run.error,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
  };
}

/** A time from a query: an ISO 8601 date-time or unix seconds; 400 naming `field` otherwise. */
function instant(raw: string | undefined, field: string): Date | undefined {
  if (raw === undefined) return undefined;
  const date = /^\d{1,12}(\.\d+)?$/.test(raw) ? new Date(Number(raw) * 1000) : /^\d{4}-\d{2}-\d{2}/.test(raw) ? new Date(raw) : null;
  if (!date || Number.isNaN(date.getTime())) throw new BadRequestError(`query "${field}" must be an ISO 8601 date-time (2026-01-31T12:00:00Z) or unix seconds, got "${raw.slice(0, 60)}"`);
  return date;
}

/** A run event as an SSE event; its id (the event number) is what a reconnecting client sends as Last-Event-ID. */
function sseEvent(e: RunEvent): SseEvent {
  return { id: e.seq, event: e.type, data: JSON.stringify(e) };
}

export function runRoutes(executor: GraphExecutor, runs: RunStore, events: RunEvents): FastifyPluginAsync {
  return async (app) => {
    const followers = new Followers(app);

    app.post<{ Params: { name: string }; Querystring: { wait?: string; timeout?: string } }>('/graphs/:name/runs', async (req, reply) => {
      const name = validName(req.params.name, 'graph');
      const body = (req.body ?? {}) as { input?: unknown };
      if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('request body must be a JSON object: {"input": ...}');
      // Before the input schema, the store or the mapping language read it.
      boundedBody(body);
      const run = await executor.start(name, body.input ?? null);
      if (req.query.wait !== 'true') return reply.code(202).header('location', `/runs/${run.id}`).send({ runId: run.id, status: run.status });
      const timeoutMs = Math.min(Number(req.query.timeout ?? 300) * 1000 || 300_000, 3_600_000);
      const done = await executor.wait(run.id, timeoutMs);
      return reply.code(done.status === 'succeeded' ? 200 : done.status === 'failed' ? 500 : 202).send(view(done));
    });

    app.get<{ Querystring: { graph?: string; status?: string; since?: string; until?: string; limit?: string; cursor?: string } }>('/runs', async (req) => {
      const { graph, status, cursor } = req.query;
      const since = instant(req.query.since, 'since');
      const until = instant(req.query.until, 'until');
      const limit = req.query.limit === undefined ? 20 : Number(req.query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new BadRequestError('query "limit" must be a whole number from 1 to 200');
      if (status !== undefined && !STATUSES.has(status)) throw new BadRequestError(`query "status" must be one of ${[...STATUSES].join(', ')}`);
      if (graph !== undefined) validName(graph, 'graph');
      const page = await runs.list({ graph, status, since, until, limit, cursor });
      return { runs: page.runs.map(view), next: page.next };
    });

    app.get<{ Params: { id: string } }>('/runs/:id', async (req) => {
      const run = await runs.get(req.params.id);
      if (!run) throw new NotFoundError(`run "${req.params.id}" does not exist`);
      return { ...view(run), nodes: await runs.nodes(run.id) };
    });

    app.post<{ Params: { id: string } }>('/runs/:id/cancel', async (req) => view(await executor.cancel(req.params.id)));

    app.get<{ Params: { id: string }; Querystring: { after?: string } }>('/runs/:id/events', async (req, reply) => {
      const run = await runs.get(req.params.id);
      if (!run) throw new NotFoundError(`run "${req.params.id}" does not exist`);
      const after = Number(req.headers['last-event-id'] ?? req.query.after ?? 0);
      if (!Number.isInteger(after) || after < 0 || after > MAX_EVENT_SEQ) throw new BadRequestError(`Last-Event-ID (or query "after") must be an event number from 0 to ${MAX_EVENT_SEQ}`);
      reply.hijack();
      const sse = openSse(followers, req.raw, reply.raw, 'spindle run events');
      if (!sse) return;
      // From the first event after `after`, in order, once each, until the run's final event ends the stream.
      sse.onClose(events.subscribe(run.id, after, (e) => sse.send(sseEvent(e)), () => sse.end()));
    });
  };
}
