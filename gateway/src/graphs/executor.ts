/**
 * The graph executor: compiles a graph definition into a LangGraph StateGraph whose nodes each invoke a
 * function through the gateway's own invoker, and runs it with Postgres checkpoints (thread id = run
 * id), so a run survives a gateway restart without re-running finished nodes.
 */
import { randomUUID } from 'node:crypto';
import { Annotation, END, START, StateGraph, type LangGraphRunnableConfig } from '@langchain/langgraph';
import type { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import type { GraphDefinition } from '@spindle/schemas';
import { Ajv, type ValidateFunction } from 'ajv';
import type { Logger } from 'pino';
import { BadRequestError, ConflictError, NotFoundError } from '../errors.ts';
import type { Invoker } from '../invoker.ts';
import type { NatsLink } from '../nats.ts';
import type { RunEvents } from './events.ts';
import { holds, resolve, type Scope } from './mapping.ts';
import { NodeFailedError, runNode } from './node.ts';
import type { GraphRecord, GraphStore, RunRecord, RunStore } from './store.ts';
import { planGraph, type PlannedGraph } from './validate.ts';

const State = Annotation.Root({
  input: Annotation<unknown>(),
  outputs: Annotation<Record<string, unknown>>({ reducer: (a, b) => ({ ...a, ...b }), default: () => ({}) }),
  skipped: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
});
type GraphState = typeof State.State;

/** LangGraph node names are prefixed so a node id can never collide with a state channel. */
const step = (id: string) => `step_${id}`;

export interface ExecutorDeps {
  invoker: Invoker;
  graphs: GraphStore;
  runs: RunStore;
  events: RunEvents;
  checkpointer: PostgresSaver;
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

export class GraphExecutor {
  private readonly active = new Map<string, ActiveRun>();
  /** Call id → run and node, so progress reported by a function lands in the right run. */
  private readonly calls = new Map<string, { runId: string; node: string }>();
  private readonly compiled = new Map<string, { plan: PlannedGraph; graph: ReturnType<GraphExecutor['compile']> }>();
  private readonly ajv = new Ajv({ allErrors: false, strict: false });
  private readonly inputValidators = new Map<string, ValidateFunction>();
  private readonly stops: Array<() => void> = [];
  private closing = false;

  constructor(private readonly deps: ExecutorDeps) {
    this.stops.push(
      deps.onProgress((e) => {
        const call = this.calls.get(e.callId);
        if (call) void deps.events.emit(call.runId, 'node.progress', call.node, { fraction: e.fraction, message: e.message });
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

  /** Starts a run of `graphName` with `input`; it executes in the background. */
  async start(graphName: string, input: unknown): Promise<RunRecord> {
    const graph = await this.deps.graphs.get(graphName);
    if (!graph) throw new NotFoundError(`graph "${graphName}" is not deployed`);
    planGraph(graph.definition, this.deps.hasFunction);
    if (graph.definition.input) {
      // One compiled validator per graph version (Ajv caches by object identity; rows are new objects).
      const key = `${graph.name}@${graph.version}`;
      let validate = this.inputValidators.get(key);
      if (!validate) this.inputValidators.set(key, (validate = this.ajv.compile(graph.definition.input)));
      if (!validate(input)) {
        const e = validate.errors![0];
        const field = `input${e.instancePath.replace(/\//g, '.')}${e.keyword === 'required' ? `.${(e.params as { missingProperty: string }).missingProperty}` : ''}`;
        throw new BadRequestError(`field "${field}" ${e.keyword === 'required' ? 'is required' : e.message}`);
      }
    }
    const run = await this.deps.runs.create(randomUUID(), graph, input);
    this.launch(run, false);
    return run;
  }

  /** Resumes every run a previous gateway left unfinished; returns how many. */
  async resumeAll(): Promise<number> {
    const runs = await this.deps.runs.unfinished();
    for (const run of runs) {
      await this.deps.events.resume(run.id);
      this.launch(run, run.status === 'running');
    }
    return runs.length;
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
    if (!(await this.deps.runs.setStatus(runId, 'cancelled', { error: 'cancelled' }))) {
      throw new ConflictError(`run "${runId}" already finished (${run.status})`);
    }
    const local = this.active.has(runId);
    // Another gateway runs it: continue its event numbering, and tell it over NATS to stop.
    if (!local) await this.deps.events.resume(runId);
    await this.deps.events.emit(runId, 'run.cancelled');
    if (!this.abortLocal(runId)) this.deps.nats.current()?.publish(`${this.deps.natsPrefix}.runs.cancel`, runId);
    await this.active.get(runId)?.done;
    return (await this.deps.runs.get(runId))!;
  }

  /** Stops executing (runs stay `running` in the store, so the next start resumes them). Idempotent. */
  async close(): Promise<void> {
    this.closing = true;
    this.stops.splice(0).forEach((s) => s());
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

  private launch(run: RunRecord, resume: boolean): void {
    const abort = new AbortController();
    const entry: ActiveRun = { abort, cancelled: false, done: Promise.resolve() };
    this.active.set(run.id, entry);
    entry.done = this.execute(run, resume, entry).finally(() => this.active.delete(run.id));
  }

  private async execute(run: RunRecord, resume: boolean, active: ActiveRun): Promise<void> {
    const { plan, graph } = this.compiledFor(run.definition);
    const { runs, events } = this.deps;
    let finished = false;
    try {
      if (!resume) {
        await runs.setStatus(run.id, 'running');
        await events.emit(run.id, 'run.started', undefined, { graph: run.graph, version: run.graphVersion });
      }
      // durability 'sync': a step's checkpoint is stored before the next step starts, so a node that
      // finished is never run again after a crash ('async' could lose the last checkpoint).
      const config = { configurable: { thread_id: run.id }, signal: active.abort.signal, recursionLimit: plan.order.length + 10, durability: 'sync' as const };
      const final = (await graph.invoke(resume ? null : { input: run.input }, config)) as GraphState;
      const output = this.outputOf(plan, final);
      await events.flush(run.id);
      if (await runs.setStatus(run.id, 'succeeded', { output })) await events.emit(run.id, 'run.succeeded', undefined, { output });
      finished = true;
    } catch (err) {
      if (this.closing && !active.cancelled) return;
      finished = true;
      if (active.cancelled) return;
      const message = err instanceof NodeFailedError ? err.message : `run failed: ${(err as Error).message}`;
      this.deps.logger.warn({ runId: run.id, err: message }, 'run failed');
      const node = err instanceof NodeFailedError ? err.node : undefined;
      await events.flush(run.id);
      if (await runs.setStatus(run.id, 'failed', { error: message })) await events.emit(run.id, 'run.failed', node, { error: message });
    } finally {
      // A finished run is never resumed: its checkpoints (every step's state, outputs included) can go.
      // Cleanup, so nobody waiting on the run waits for it too.
      if (finished) void this.deps.checkpointer.deleteThread(run.id).catch((err) => this.deps.logger.warn({ err, runId: run.id }, 'deleting checkpoints failed'));
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
      void events.emit(runId, 'node.skipped', id, { reason }, { status: 'skipped', finished: true });
      return { skipped: [id] };
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
    void events.emit(runId, 'node.started', id, { function: node.function }, { status: 'running', started: true });
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
      void events.emit(runId, 'node.succeeded', id, { attempts, durationMs }, { status: 'succeeded', attempts, finished: true, durationMs, output });
      return { outputs: { [id]: output } };
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
