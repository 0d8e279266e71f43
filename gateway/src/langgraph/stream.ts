/**
 * A run's events (gateway/src/graphs/events.ts) as LangGraph stream parts, one SSE event per stream mode:
 * `values` (the state after the run starts, after each node ends, and with the output at the end), `updates`
 * (`{node: what it wrote}`), `events` (LangChain `on_chain_start` / `on_chain_end` / `on_custom_event`),
 * `debug` (`task` / `task_result` per node, with its superstep) and `custom` (`ctx.progress` reports). A failed
 * or cancelled run ends with an `error` part. Each run event's last part carries the event's number as its id,
 * so a client resuming with Last-Event-ID misses nothing.
 */
import type { LANGGRAPH_STREAM_MODES, RunEvent } from '@spindle/schemas';
import type { RunRecord } from '../graphs/store.ts';
import { planGraph } from '../graphs/validate.ts';
import type { ThreadStates, Values } from './state.ts';

export type StreamMode = (typeof LANGGRAPH_STREAM_MODES)[number];

/** One SSE event of a LangGraph stream. */
export interface StreamPart {
  event: string;
  data: unknown;
  id?: string;
}

/** The `error` part of a run that did not succeed, and the `__error__` of `runs.wait` / `join`. */
export function runError(run: Pick<RunRecord, 'status' | 'error'>): { error: string; message: string } {
  if (run.status === 'cancelled') return { error: 'UserInterrupt', message: 'run cancelled' };
  return { error: 'NodeFailedError', message: run.error ?? 'run failed' };
}

/** Translates one run's events, in order, into the parts of `modes`. */
export class RunTranslator {
  private readonly ended = new Set<string>();
  private readonly modes: ReadonlySet<StreamMode>;
  /** A node's superstep: one more than its deepest dependency's (first nodes: 1). */
  private readonly steps = new Map<string, number>();

  constructor(
    private readonly run: RunRecord,
    modes: readonly StreamMode[],
    private readonly states: ThreadStates,
  ) {
    this.modes = new Set(modes);
    const plan = planGraph(run.definition, () => true);
    for (const id of plan.order) this.steps.set(id, 1 + Math.max(0, ...plan.deps.get(id)!.map((d) => this.steps.get(d) ?? 0)));
  }

  /** The parts `e` makes (none for events no mode shows). */
  async parts(e: RunEvent): Promise<StreamPart[]> {
    const out: StreamPart[] = [];
    const add = (mode: StreamMode, data: unknown) => {
      if (this.modes.has(mode)) out.push({ event: mode, data });
    };
    const run = this.run;
    const node = e.node ?? '';
    const data = (e.data ?? {}) as Record<string, unknown>;
    const chain = (event: string, name: string, extra: Record<string, unknown>) => ({
      event,
      name,
      run_id: name === run.graph ? run.id : `${run.id}.${name}`,
      tags: name === run.graph ? [] : [`graph:step:${this.steps.get(name)}`],
      metadata: { graph_id: run.graph, thread_id: run.threadId ?? run.id, ...(name !== run.graph && { langgraph_node: name, langgraph_step: this.steps.get(name) }) },
      ...(name !== run.graph && { parent_ids: [run.id] }),
      ...extra,
    });
    const task = (type: 'task' | 'task_result', payload: Record<string, unknown>) => ({ type, timestamp: e.at, step: this.steps.get(node), payload: { id: `${run.id}.${node}`, name: node, ...payload } });
    switch (e.type) {
      case 'run.started':
        add('values', { input: run.input, outputs: {}, skipped: [] });
        add('events', chain('on_chain_start', run.graph, { data: { input: run.input } }));
        break;
      case 'node.started':
        // The node's input, when the event carries it (large inputs are left out of the event).
        add('events', chain('on_chain_start', node, { data: 'input' in data ? { input: data.input } : {} }));
        add('debug', task('task', { input: data.input ?? null, triggers: [], function: data.function }));
        break;
      case 'node.progress':
        add('custom', { node, fraction: data.fraction, message: data.message ?? null });
        add('events', chain('on_custom_event', 'progress', { run_id: `${run.id}.${node}`, data: { node, fraction: data.fraction, message: data.message ?? null } }));
        break;
      case 'node.succeeded':
      case 'node.skipped': {
        this.ended.add(node);
        const values = await this.valuesNow();
        const update = e.type === 'node.succeeded' ? { outputs: { [node]: values.outputs[node] ?? null } } : { skipped: [node] };
        add('updates', { [node]: update });
        add('values', values);
        add('debug', task('task_result', { result: Object.entries(update), error: null, interrupts: [] }));
        add('events', chain('on_chain_end', node, { data: { output: update } }));
        break;
      }
      case 'node.failed':
        add('debug', task('task_result', { result: [], error: String(data.error ?? 'failed'), interrupts: [] }));
        break;
      case 'run.succeeded': {
        const values = { ...(await this.valuesNow()), output: data.output ?? null };
        add('values', values);
        add('events', chain('on_chain_end', run.graph, { data: { output: values } }));
        break;
      }
      case 'run.failed':
        out.push({ event: 'error', data: runError({ status: 'failed', error: String(data.error ?? 'run failed') }) });
        break;
      case 'run.cancelled':
        out.push({ event: 'error', data: runError({ status: 'cancelled', error: null }) });
        break;
      default:
        break;
    }
    const last = out.at(-1);
    if (last) last.id = String(e.seq);
    return out;
  }

  /** The values after the nodes ended so far (outputs read from the node records, which the end events wrote). */
  private async valuesNow(): Promise<Values> {
    const recorded = await this.states.recordedValues(this.run);
    return {
      input: this.run.input,
      outputs: Object.fromEntries(Object.entries(recorded.outputs).filter(([id]) => this.ended.has(id))),
      skipped: recorded.skipped.filter((id) => this.ended.has(id)),
    };
  }
}
