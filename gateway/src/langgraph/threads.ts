/**
 * LangGraph Platform threads: create, get, update, delete, search, state and history. A thread is a stored record
 * whose runs keep their checkpoints; a run not started on a thread is its own thread (thread id = run id), read only.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { ConflictError, NotFoundError, UnprocessableError } from '../errors.ts';
import { historyRequest, threadCreate, threadSearch, threadUpdate } from './body.ts';
import { findThread, runsOfThread, type FoundThread, type LanggraphDeps } from './deps.ts';
import { threadStatus } from './threads-store.ts';

type ThreadParams = { Params: { threadId: string } };

/** How many runs a thread's history reads checkpoints of, at most. */
const HISTORY_RUNS = 100;

export function threadRoutes(deps: LanggraphDeps): FastifyPluginAsync {
  const { threads, runs, states, executor } = deps;

  /** A thread as LangGraph's `Thread`: its status and values are its latest run's. */
  async function view(thread: FoundThread) {
    const { record, latest } = thread;
    const state = await states.state(thread.id, latest);
    const status = threadStatus(latest?.status ?? null);
    const created = record?.createdAt ?? latest!.createdAt;
    const updated = [record?.updatedAt, latest?.finishedAt, latest?.startedAt, latest?.createdAt].filter((d): d is Date => d instanceof Date).sort((a, b) => b.getTime() - a.getTime())[0] ?? created;
    return {
      thread_id: thread.id,
      created_at: created,
      updated_at: updated,
      state_updated_at: state.created_at ?? updated,
      metadata: record?.metadata ?? latest?.metadata ?? {},
      status,
      values: state.values,
      interrupts: {},
      config: {},
      error: status === 'error' ? latest?.error : null,
    };
  }

  return async (app) => {
    app.post('/threads', async (req) => {
      const body = threadCreate(req.body);
      const id = body.thread_id?.toLowerCase() ?? randomUUID();
      const metadata = Object.fromEntries(Object.entries(body.metadata ?? {}).filter(([, v]) => v !== undefined && v !== null));
      if (!(await threads.create(id, metadata)) && body.if_exists !== 'do_nothing') throw new ConflictError(`thread "${id}" already exists`);
      return view(await findThread(deps, id));
    });

    app.post('/threads/search', async (req) => {
      const q = threadSearch(req.body);
      const found = await threads.search({ metadata: q.metadata, ids: q.ids, status: q.status, sortBy: q.sort_by, sortOrder: q.sort_order, limit: q.limit ?? 10, offset: q.offset ?? 0 });
      return Promise.all(found.map(async (record) => view({ id: record.id, record, latest: (await runs.ofThread(record.id, { limit: 1 }))[0] ?? null })));
    });

    app.get<ThreadParams>('/threads/:threadId', async (req) => view(await findThread(deps, req.params.threadId)));

    app.patch<ThreadParams>('/threads/:threadId', async (req) => {
      const body = threadUpdate(req.body);
      const thread = await findThread(deps, req.params.threadId);
      if (!thread.record) throw new ConflictError(`thread "${thread.id}" is a run's own thread: start runs on a thread made with POST /threads to keep metadata`);
      await threads.update(thread.id, body.metadata ?? {});
      return view(await findThread(deps, thread.id));
    });

    app.delete<ThreadParams>('/threads/:threadId', async (req, reply) => {
      const thread = await findThread(deps, req.params.threadId);
      if (!thread.record) throw new ConflictError(`thread "${thread.id}" is a run's own thread; it goes with its run`);
      // Its running runs stop first; then the thread, its runs (events and nodes with them) and their checkpoints go.
      const all = await runs.ofThread(thread.id, { limit: 10_000 });
      for (const run of all) if (run.status === 'queued' || run.status === 'running') await executor.cancel(run.id).catch(() => {});
      await threads.remove(thread.id);
      await Promise.all(all.map((run) => states.forget(run.id)));
      return reply.code(204).send();
    });

    app.get<ThreadParams>('/threads/:threadId/state', async (req) => {
      const thread = await findThread(deps, req.params.threadId);
      return states.state(thread.id, thread.latest);
    });

    app.get<ThreadParams & { Params: { checkpointId: string } }>('/threads/:threadId/state/:checkpointId', async (req) => {
      const thread = await findThread(deps, req.params.threadId);
      const snap = await states.at(thread.id, await runsOfThread(deps, thread, { limit: HISTORY_RUNS }), req.params.checkpointId);
      if (!snap) throw new NotFoundError(`checkpoint "${req.params.checkpointId.slice(0, 100)}" not found on thread "${thread.id}"`);
      return snap;
    });

    app.post<ThreadParams>('/threads/:threadId/history', async (req) => {
      const body = historyRequest(req.body);
      const before = (body.before as { configurable?: { checkpoint_id?: unknown }; checkpoint_id?: unknown } | undefined) ?? undefined;
      const beforeId = before?.configurable?.checkpoint_id ?? before?.checkpoint_id;
      if (before !== undefined && typeof beforeId !== 'string') throw new UnprocessableError('field "before" must name a checkpoint: {"configurable": {"checkpoint_id": "…"}}');
      const thread = await findThread(deps, req.params.threadId);
      return states.history(thread.id, await runsOfThread(deps, thread, { limit: HISTORY_RUNS }), body.limit ?? 10, beforeId as string | undefined);
    });
  };
}
