/**
 * The graph executor: compiles a graph definition into a LangGraph StateGraph whose nodes each invoke a
 * function through the gateway's own invoker, and runs it with Postgres checkpoints (thread id = run
 * id), so a run survives a gateway restart without re-running finished nodes.
 */
import { randomUUID } from 'node:crypto';
import { Annotation, END, START, StateGraph, type LangGraphRunnableConfig } from '@langchain/langgraph';
import type { PendingWrite } from '@langchain/langgraph-checkpoint';
import type { GraphDefinition } from '@spindle/schemas';
import type { Logger } from 'pino';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { Invoker } from '../invoker.ts';
import type { NatsLink } from '../nats.ts';
import type { RunEvents } from './events.ts';
import type { BatchedPostgresSaver } from './saver.ts';
import { holds, resolve, type Scope } from './mapping.ts';
import { NodeFailedError, runNode } from './node.ts';
import type { GraphRecord, GraphStore, RunOptions, RunRecord, RunStore } from './store.ts';
import { checkRunInput } from './run-input.ts';
import { planGraph, type PlannedGraph } from './validate.ts';

/** How a node ended, kept in the checkpoint: after a crash its events are rebuilt from it. */
interface NodeDone {
  status: 'succeeded' | 'skipped';
  attempts?: number;
  durationMs?: number;
  reason?: string;
}

const State = Annotation.Root({
  input: Annotation<unknown>(),
  outputs: Annotation<Record<string, unknown>>({ reducer: (a, b) => ({ ...a, ...b }), default: () => ({}) }),
  skipped: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
  done: Annotation<Record<string, NodeDone>>({ reducer: (a, b) => ({ ...a, ...b }), default: () => ({}) }),
});
type GraphState = typeof State.State;

/** LangGraph node names are prefixed so a node id can never collide with a state channel. */
const step = (id: string) => `step_${id}`;

/** Node statuses that end a node. */
const TERMINAL: ReadonlySet<string> = new Set(['succeeded', 'failed', 'skipped']);

export interface ExecutorDeps {
  invoker: Invoker;
  graphs: GraphStore;
  runs: RunStore;
  events: RunEvents;
  checkpointer: BatchedPostgresSaver;
  nats: NatsLink;
  natsPrefix: string;
  hasFunction(name: string): boolean;
  onProgress(fn: (e: { callId: string; fraction: number; message: string | null }) => void): () => void;
  logger: Logger;
}

interface ActiveRun {
  abort: AbortController;
  done: Promise<void>;
  cancelled: boolean;
}

/** Node inputs larger than this (as JSON) are not copied into the node.started event (a NATS message carries it). */
const KEPT_INPUT_BYTES = 64 * 1024;

/** A node's input as its node.started event carries it: the value, or its size when too large to copy. */
function keptInput(input: unknown): { input: unknown } | { inputBytes: number } {
  const bytes = Buffer.byteLength(JSON.stringify(input ?? null));
  return bytes <= KEPT_INPUT_BYTES ? { input: input ?? null } : { inputBytes: bytes };
}

export class GraphExecutor {
  private readonly active = new Map<string, ActiveRun>();
  /** Call id → run and node, so progress reported by a function lands in the right run. */
  private readonly calls = new Map<string, { runId: string; node: string }>();
  private readonly compiled = new Map<string, { plan: PlannedGraph; graph: ReturnType<GraphExecutor['compile']> }>();
  private readonly stops: Array<() => void> = [];
  private closing = false;

  constructor(private readonly deps: ExecutorDeps) {
    this.stops.push(
      deps.onProgress((e) => {
        const call = this.calls.get(e.callId);
        if (call) void deps.events.emit(call.runId, 'node.progress', call.node, { fraction: e.fraction, message: e.message });
      }),
    );
    // A node's end is reported once its write is in the checkpoint, never before: a crash in between
    // loses only the event, and the resume rebuilds it from the checkpoint (see reconcile).
    this.stops.push(
      deps.checkpointer.onWritesStored((runId, _taskId, writes) => {
        if (this.active.has(runId)) this.reportDone(runId, writes);
      }),
    );
    // A cancel may reach any gateway: the one running the run stops it.
    const listen = () => {
      const nc = deps.nats.current();
      if (!nc) return;
      const sub = nc.subscribe(`${deps.natsPrefix}.runs.cancel`, { callback: (err, msg) => void (err || this.abortLocal(msg.string())) });
      this.stops.push(() => sub.unsubscribe());
    };
    listen();
    deps.nats.on('connect', listen);
    this.stops.push(() => deps.nats.off('connect', listen));
  }

  /** Validates and stores a graph definition (400 naming the node and field when it is wrong). */
  async deploy(name: string, definition: GraphDefinition): Promise<GraphRecord> {
    planGraph(definition, this.deps.hasFunction);
    return this.deps.graphs.upsert(name, definition);
  }

  /** Starts a run of `graphName` with `input` (on a LangGraph thread, with metadata: `options`); it executes in the background. */
  async start(graphName: string, input: unknown, options: RunOptions = {}): Promise<RunRecord> {
    const graph = await this.deps.graphs.get(graphName);
    if (!graph) throw new NotFoundError(`graph "${graphName}" is not deployed`);
    planGraph(graph.definition, this.deps.hasFunction);
    checkRunInput(graph.definition, input);
    const run = await this.deps.runs.create(randomUUID(), graph, input, options);
    this.launch(run, 'new');
    return run;
  }

  /**
   * Resumes every run a previous gateway left unfinished; returns how many. A run with a checkpoint
   * continues from it (finished nodes are not run again, their missing events are rebuilt); one that
   * was accepted but never reached its first checkpoint starts from its input.
   */
  async resumeAll(): Promise<number> {
    const runs = await this.deps.runs.unfinished();
    for (const run of runs) {
      const { from, nodesDone } = run.status === 'running' ? await this.reconcile(run.id) : { from: 'start' as const, nodesDone: 0 };
      this.deps.logger.info({ runId: run.id, graph: run.graph, status: run.status, from, nodesDone }, 'resuming run');
      this.launch(run, from);
    }
    return runs.length;
  }

  /**
   * Brings a run's records in line with its checkpoint after a crash: a node whose output is in the
   * checkpoint (or in the pending writes of the step the crash cut short) but whose end was never
   * recorded gets its event now. Returns where the run continues from, and how many nodes had ended.
   */
  private async reconcile(runId: string): Promise<{ from: 'start' | 'checkpoint'; nodesDone: number }> {
    const tuple = await this.deps.checkpointer.getTuple({ configurable: { thread_id: runId } });
    if (!tuple) return { from: 'start', nodesDone: 0 };
    const values = tuple.checkpoint.channel_values as Partial<GraphState>;
    const writes: PendingWrite[] = [
      ['done', values.done ?? {}],
      ['outputs', values.outputs ?? {}],
      ...(tuple.pendingWrites ?? []).map(([, channel, value]) => [channel, value] as PendingWrite),
    ];
    const recorded = new Set((await this.deps.runs.nodes(runId)).filter((n) => TERMINAL.has(n.status)).map((n) => n.node));
    const nodesDone = this.reportDone(runId, writes, recorded);
    await this.deps.events.flush(runId);
    return { from: 'checkpoint', nodesDone };
  }

  /** Emits the end event of every node whose end `writes` carry (but for those in `skip`); returns how many nodes `writes` end. */
  private reportDone(runId: string, writes: PendingWrite[], skip: ReadonlySet<string> = new Set()): number {
    const done: Record<string, NodeDone> = {};
    const outputs: Record<string, unknown> = {};
    for (const [channel, value] of writes) {
      if (channel === 'done') Object.assign(done, value);
      else if (channel === 'outputs') Object.assign(outputs, value);
    }
    const { events } = this.deps;
    for (const [id, d] of Object.entries(done)) {
      if (skip.has(id)) continue;
      if (d.status === 'skipped') void events.emit(runId, 'node.skipped', id, { reason: d.reason }, { status: 'skipped', finished: true });
      else {
        const { attempts, durationMs } = d;
        void events.emit(runId, 'node.succeeded', id, { attempts, durationMs }, { status: 'succeeded', attempts, finished: true, durationMs, output: outputs[id] ?? null });
      }
    }
    return Object.keys(done).length;
  }

  /** Resolves when the run is finished (or `timeoutMs` passed); returns its record. */
  async wait(runId: string, timeoutMs: number): Promise<RunRecord> {
    const active = this.active.get(runId);
    if (active) await Promise.race([active.done, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    const run = await this.deps.runs.get(runId);
    if (!run) throw new NotFoundError(`run "${runId}" does not exist`);
    return run;
  }

  /** Cancels a run: in-flight calls are aborted and the status becomes `cancelled`. */
  async cancel(runId: string): Promise<RunRecord> {
    const run = await this.deps.runs.get(runId);
    if (!run) throw new NotFoundError(`run "${runId}" does not exist`);
    // The status and its event in one statement (events are numbered by the store, so a cancel sent to
    // another gateway than the one running the run continues its numbering).
    if (!(await this.deps.events.transition(runId, 'run.cancelled', { status: 'cancelled', error: 'cancelled' }))) {
      throw new ConflictError(`run "${runId}" already finished (${(await this.deps.runs.get(runId))?.status ?? run.status})`);
    }
    // Another gateway runs it: tell it over NATS to stop.
    if (!this.abortLocal(runId)) this.deps.nats.current()?.publish(`${this.deps.natsPrefix}.runs.cancel`, runId);
    await this.active.get(runId)?.done;
    return (await this.deps.runs.get(runId))!;
  }

  /** Stops executing (runs stay `running` in the store, so the next start resumes them). Idempotent. */
  async close(): Promise<void> {
    this.closing = true;
    for (const stop of this.stops.splice(0)) stop();
    for (const run of this.active.values()) run.abort.abort(new Error('gateway stopping'));
    await Promise.all([...this.active.values()].map((r) => r.done));
  }

  private abortLocal(runId: string): boolean {
    const active = this.active.get(runId);
    if (!active) return false;
    active.cancelled = true;
    active.abort.abort(new Error('run cancelled'));
    return true;
  }

  /**
   * Executes a run in the background: `new` (accepted just now), `start` (accepted by a gateway that
   * stopped before the run's first checkpoint) or `checkpoint` (continues from its last checkpoint).
   */
  private launch(run: RunRecord, from: 'new' | 'start' | 'checkpoint'): void {
    const abort = new AbortController();
    const entry: ActiveRun = { abort, cancelled: false, done: Promise.resolve() };
    this.active.set(run.id, entry);
    entry.done = this.execute(run, from, entry).finally(() => this.active.delete(run.id));
  }

  private async execute(run: RunRecord, from: 'new' | 'start' | 'checkpoint', active: ActiveRun): Promise<void> {
    const { plan, graph } = this.compiledFor(run.definition);
    const { events } = this.deps;
    let finished = false;
    try {
      if (run.status === 'queued') {
        // The status and its event in one statement: a crash never leaves one without the other.
        const started = await events.transition(run.id, 'run.started', { status: 'running' }, undefined, { graph: run.graph, version: run.graphVersion });
        if (!started) {
          finished = true; // cancelled before it started
          return;
        }
      } else {
        void events.emit(run.id, 'run.resumed', undefined, { from });
      }
      // durability 'sync': a step's checkpoint is stored before the next step starts, so a node that
      // finished is never run again after a crash ('async' could lose the last checkpoint).
      const config = { configurable: { thread_id: run.id }, signal: active.abort.signal, recursionLimit: plan.order.length + 10, durability: 'sync' as const };
      const final = (await graph.invoke(from === 'checkpoint' ? null : { input: run.input }, config)) as GraphState;
      const output = this.outputOf(plan, final);
      // The status and the final event in one statement, after every node's events.
      await events.transition(run.id, 'run.succeeded', { status: 'succeeded', output }, undefined, { output });
      finished = true;
    } catch (err) {
      if (this.closing && !active.cancelled) return;
      if (active.cancelled) {
        finished = true;
        return;
      }
      const message = err instanceof NodeFailedError ? err.message : `run failed: ${(err as Error).message}`;
      this.deps.logger.warn({ runId: run.id, err: message }, 'run failed');
      const node = err instanceof NodeFailedError ? err.node : undefined;
      try {
        await events.transition(run.id, 'run.failed', { status: 'failed', error: message }, node, { error: message });
        finished = true;
      } catch (storeErr) {
        // The database is unreachable: the run stays `running`, and the next start resumes it.
        this.deps.logger.error({ err: storeErr, runId: run.id }, 'recording the end of a run failed');
      }
    } finally {
      // A finished run is never resumed: its checkpoints (every step's state, outputs included) can go, but
      // for a run on a LangGraph thread, whose state and history are read from them. Cleanup, so nobody
      // waiting on the run waits for it too.
      if (finished && !run.threadId) void this.deps.checkpointer.deleteThread(run.id).catch((err) => this.deps.logger.warn({ err, runId: run.id }, 'deleting checkpoints failed'));
    }
  }

  private compiledFor(definition: GraphDefinition) {
    const key = JSON.stringify(definition);
    let entry = this.compiled.get(key);
    if (!entry) {
      const plan = planGraph(definition, () => true);
      entry = { plan, graph: this.compile(plan) };
      this.compiled.set(key, entry);
    }
    return entry;
  }

  private outputOf(plan: PlannedGraph, state: GraphState): unknown {
    const scope = this.scope(state);
    if (plan.definition.output !== undefined) return resolve(plan.definition.output, scope);
    if (plan.sinks.length === 1) return state.outputs[plan.sinks[0]] ?? null;
    return Object.fromEntries(plan.sinks.map((s) => [s, state.outputs[s] ?? null]));
  }

  private scope(state: GraphState): Scope {
    return { input: state.input, nodes: Object.fromEntries(Object.entries(state.outputs).map(([k, v]) => [k, { output: v }])) };
  }

  private compile(plan: PlannedGraph) {
    const builder = new StateGraph(State) as unknown as StateGraph<typeof State.spec, GraphState, Partial<GraphState>, string>;
    for (const id of plan.order) builder.addNode(step(id), (state: GraphState, config: LangGraphRunnableConfig) => this.runStep(plan, id, state, config));
    for (const id of plan.order) {
      const deps = plan.deps.get(id)!;
      if (deps.length === 0) builder.addEdge(START, step(id));
      else if (deps.length === 1) builder.addEdge(step(deps[0]), step(id));
      else builder.addEdge(deps.map(step), step(id));
    }
    for (const sink of plan.sinks) builder.addEdge(step(sink), END);
    return builder.compile({ checkpointer: this.deps.checkpointer });
  }

  private async runStep(plan: PlannedGraph, id: string, state: GraphState, config: LangGraphRunnableConfig): Promise<Partial<GraphState>> {
    const runId = String(config.configurable?.thread_id);
    const node = plan.definition.nodes[id];
    const deps = plan.deps.get(id)!;
    const { events } = this.deps;
    const scope = this.scope(state);
    const skippedDep = deps.find((d) => state.skipped.includes(d));
    const condition = plan.conditions.get(id);
    if (skippedDep !== undefined || (condition && !holds(condition, scope))) {
      const reason = skippedDep !== undefined ? `node "${skippedDep}" was skipped` : `condition "${node.when}" does not hold`;
      // Its event follows once this write is in the checkpoint (reportDone).
      return { skipped: [id], done: { [id]: { status: 'skipped', reason } } };
    }
    // Default input: the run input for a first node, the one upstream output, or all of them by node id.
    const input =
      node.input !== undefined
        ? resolve(node.input, scope)
        : deps.length === 0
          ? state.input
          : deps.length === 1
            ? state.outputs[deps[0]]
            : Object.fromEntries(deps.map((d) => [d, state.outputs[d]]));
    const started = performance.now();
    const signal = config.signal ?? this.active.get(runId)?.abort.signal ?? new AbortController().signal;
    // Records and events are written in order in the background; the run awaits them before it ends.
    void events.emit(runId, 'node.started', id, { function: node.function, ...keptInput(input) }, { status: 'running', started: true });
    const callIds: string[] = [];
    try {
      const { output, attempts } = await runNode(this.deps.invoker, id, node, input, signal, {
        callId: (attempt) => {
          const callId = `${runId}.${id}.${attempt}`;
          callIds.push(callId);
          this.calls.set(callId, { runId, node: id });
          return callId;
        },
        onRetry: async (attempt, error, delayMs) => {
          void events.emit(runId, 'node.retrying', id, { attempt, error, delayMs }, { status: 'retrying', attempts: attempt, error });
        },
      });
      const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
      // Its event follows once this write is in the checkpoint (reportDone).
      return { outputs: { [id]: output }, done: { [id]: { status: 'succeeded', attempts, durationMs } } };
    } catch (err) {
      if (err instanceof NodeFailedError) {
        void events.emit(runId, 'node.failed', id, { error: err.message, attempts: err.attempts }, { status: 'failed', attempts: err.attempts, finished: true, error: err.message });
      }
      throw err;
    } finally {
      for (const c of callIds) this.calls.delete(c);
    }
  }
}
