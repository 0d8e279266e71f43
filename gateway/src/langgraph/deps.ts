/** What the LangGraph Platform API routes share: the executor, stores and run events the `/graphs` and `/runs` routes use. */
import { NotFoundError } from '../errors.ts';
import type { RunEvents } from '../graphs/events.ts';
import type { GraphExecutor } from '../graphs/executor.ts';
import type { GraphStore, RunRecord, RunStore } from '../graphs/store.ts';
import type { ThreadStates } from './state.ts';
import type { ThreadRecord, ThreadStore } from './threads-store.ts';
import { threadOf } from './views.ts';

export interface LanggraphDeps {
  executor: GraphExecutor;
  graphs: GraphStore;
  runs: RunStore;
  events: RunEvents;
  threads: ThreadStore;
  states: ThreadStates;
}

/** A thread as the API finds it: a stored thread, or the run that is its own thread (a run not started on a thread). */
export interface FoundThread {
  id: string;
  record: ThreadRecord | null;
  /** The latest run (null: none yet). */
  latest: RunRecord | null;
}

/** The thread `id` names; 404 when it is neither a thread nor a run. */
export async function findThread(deps: Pick<LanggraphDeps, 'threads' | 'runs'>, id: string): Promise<FoundThread> {
  const record = await deps.threads.get(id);
  if (record) return { id: record.id, record, latest: (await deps.runs.ofThread(record.id, { limit: 1 }))[0] ?? null };
  const run = await deps.runs.get(id);
  if (run && !run.threadId) return { id: run.id, record: null, latest: run };
  throw new NotFoundError(`thread "${id.slice(0, 100)}" not found`);
}

/** The runs of a found thread, newest first. */
export async function runsOfThread(deps: Pick<LanggraphDeps, 'runs'>, thread: FoundThread, q: { limit: number; offset?: number; status?: string }): Promise<RunRecord[]> {
  if (thread.record) return deps.runs.ofThread(thread.id, q);
  const run = thread.latest!;
  return (q.offset ?? 0) === 0 && (!q.status || q.status === run.status) ? [run] : [];
}

/** Run `runId` of thread `threadId`; 404 unless the run belongs to that thread. */
export async function findRun(deps: Pick<LanggraphDeps, 'runs'>, threadId: string | null, runId: string): Promise<RunRecord> {
  const run = await deps.runs.get(runId);
  if (!run || (threadId !== null && threadOf(run) !== threadId.toLowerCase())) throw new NotFoundError(`run "${runId.slice(0, 100)}" not found${threadId ? ` on thread "${threadId.slice(0, 100)}"` : ''}`);
  return run;
}
