/**
 * Thread state and history for the LangGraph Platform API, read from the same Postgres checkpoints the executor
 * writes (one checkpoint lineage per run, LangGraph thread id = run id). A thread's state is its latest run's
 * latest checkpoint; its history is the checkpoints of its runs, newest first. A run whose checkpoints are gone
 * (a finished run that was not started on a thread) shows the state its records hold.
 */
import type { CheckpointTuple } from '@langchain/langgraph-checkpoint';
import type { BatchedPostgresSaver } from '../graphs/saver.ts';
import type { RunRecord, RunStore } from '../graphs/store.ts';
import { planGraph } from '../graphs/validate.ts';
import { assistantId } from './views.ts';

/** A run's state as LangGraph clients see it: the input, each finished node's output, the skipped nodes, and the run output once it succeeded. */
export interface Values {
  input: unknown;
  outputs: Record<string, unknown>;
  skipped: string[];
  output?: unknown;
}

/** The checkpoint a snapshot stands for (`checkpoint_id` null when the run's checkpoints are gone). */
interface CheckpointRef {
  thread_id: string;
  checkpoint_ns: string;
  checkpoint_id: string | null;
  checkpoint_map: null;
}

/** LangGraph's ThreadState. */
export interface StateSnapshot {
  values: Values | Record<string, never>;
  next: string[];
  checkpoint: CheckpointRef;
  metadata: Record<string, unknown>;
  created_at: string | null;
  parent_checkpoint: CheckpointRef | null;
  tasks: Array<{ id: string; name: string; error: string | null; interrupts: never[]; checkpoint: null; state: null }>;
}

/** How many checkpoints a history reads at most, whatever `limit` asks. */
const MAX_HISTORY = 1000;

const ref = (thread: string, id: string | null): CheckpointRef => ({ thread_id: thread, checkpoint_ns: '', checkpoint_id: id, checkpoint_map: null });

/** Nodes whose dependencies have all ended but which have not: what runs next. */
function nextNodes(run: RunRecord, ended: ReadonlySet<string>): string[] {
  const plan = planGraph(run.definition, () => true);
  return plan.order.filter((id) => !ended.has(id) && plan.deps.get(id)!.every((d) => ended.has(d)));
}

export class ThreadStates {
  constructor(
    private readonly checkpointer: BatchedPostgresSaver,
    private readonly runs: RunStore,
  ) {}

  /** The state of `thread` after `run` (its latest run; null: a thread without runs). */
  async state(thread: string, run: RunRecord | null): Promise<StateSnapshot> {
    if (!run) return { values: {}, next: [], checkpoint: ref(thread, null), metadata: {}, created_at: null, parent_checkpoint: null, tasks: [] };
    const tuple = await this.checkpointer.getTuple({ configurable: { thread_id: run.id, checkpoint_ns: '' } });
    return tuple ? this.fromCheckpoint(thread, run, tuple, true) : this.fromRecords(thread, run);
  }

  /** The states of `thread` over `runs` (newest first), newest first: at most `limit`, those older than checkpoint `before` when given. */
  async history(thread: string, runs: RunRecord[], limit: number, before?: string): Promise<StateSnapshot[]> {
    const out: StateSnapshot[] = [];
    let passed = before === undefined;
    for (const run of runs) {
      let first = true;
      let any = false;
      for await (const tuple of this.checkpointer.list({ configurable: { thread_id: run.id, checkpoint_ns: '' } }, { limit: MAX_HISTORY })) {
        any = true;
        const snap = this.fromCheckpoint(thread, run, tuple, first);
        first = false;
        if (passed) out.push(snap);
        else if (snap.checkpoint.checkpoint_id === before) passed = true;
        if (out.length >= limit) return out;
      }
      if (!any && passed) out.push(await this.fromRecords(thread, run));
      if (out.length >= limit) return out;
    }
    return out;
  }

  /** The state of `thread` at checkpoint `checkpointId` of one of its `runs`, or null: one lookup per run, no scan. */
  async at(thread: string, runs: RunRecord[], checkpointId: string): Promise<StateSnapshot | null> {
    for (const run of runs) {
      const tuple = await this.checkpointer.getTuple({ configurable: { thread_id: run.id, checkpoint_ns: '', checkpoint_id: checkpointId } });
      if (!tuple) continue;
      const latest = await this.checkpointer.getTuple({ configurable: { thread_id: run.id, checkpoint_ns: '' } });
      return this.fromCheckpoint(thread, run, tuple, latest?.config.configurable?.checkpoint_id === checkpointId);
    }
    return null;
  }

  /** Drops a run's checkpoints (its thread was deleted). */
  forget(runId: string): Promise<void> {
    return this.checkpointer.deleteThread(runId);
  }

  /** The values a run's records hold after its events up to now: its finished nodes' outputs and skipped nodes. */
  async recordedValues(run: RunRecord): Promise<Values> {
    const nodes = await this.runs.nodes(run.id);
    const values: Values = {
      input: run.input,
      outputs: Object.fromEntries(nodes.filter((n) => n.status === 'succeeded').map((n) => [n.node, n.output])),
      skipped: nodes.filter((n) => n.status === 'skipped').map((n) => n.node),
    };
    if (run.status === 'succeeded') values.output = run.output;
    return values;
  }

  private async fromRecords(thread: string, run: RunRecord): Promise<StateSnapshot> {
    const values = await this.recordedValues(run);
    const ended = new Set([...Object.keys(values.outputs), ...values.skipped]);
    const next = run.status === 'succeeded' || run.status === 'cancelled' ? [] : nextNodes(run, ended);
    return {
      values,
      next,
      checkpoint: ref(thread, null),
      metadata: this.metadata(run, { source: 'spindle-run-record' }),
      created_at: (run.finishedAt ?? run.startedAt ?? run.createdAt).toISOString(),
      parent_checkpoint: null,
      tasks: next.map((name) => ({ id: `${run.id}.${name}`, name, error: run.status === 'failed' ? run.error : null, interrupts: [], checkpoint: null, state: null })),
    };
  }

  private fromCheckpoint(thread: string, run: RunRecord, tuple: CheckpointTuple, latest: boolean): StateSnapshot {
    const channels = tuple.checkpoint.channel_values as { input?: unknown; outputs?: Record<string, unknown>; skipped?: string[]; done?: Record<string, unknown> };
    const values: Values = { input: channels.input ?? run.input, outputs: channels.outputs ?? {}, skipped: channels.skipped ?? [] };
    if (latest && run.status === 'succeeded') values.output = run.output;
    const next = latest && (run.status === 'succeeded' || run.status === 'cancelled') ? [] : nextNodes(run, new Set(Object.keys(channels.done ?? {})));
    const parentId = tuple.parentConfig?.configurable?.checkpoint_id;
    return {
      values,
      next,
      checkpoint: ref(thread, String(tuple.config.configurable?.checkpoint_id)),
      metadata: this.metadata(run, (tuple.metadata ?? {}) as Record<string, unknown>),
      created_at: tuple.checkpoint.ts,
      parent_checkpoint: parentId ? ref(thread, String(parentId)) : null,
      tasks: next.map((name) => ({ id: `${run.id}.${name}`, name, error: latest && run.status === 'failed' ? run.error : null, interrupts: [], checkpoint: null, state: null })),
    };
  }

  private metadata(run: RunRecord, extra: Record<string, unknown>): Record<string, unknown> {
    return { ...extra, ...run.metadata, run_id: run.id, graph_id: run.graph, assistant_id: assistantId(run.graph) };
  }
}
