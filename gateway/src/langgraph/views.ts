/**
 * Spindle's graphs and runs as the LangGraph Platform API shows them: assistants (one per graph, its name or a
 * stable uuid as `assistant_id`), the graph's nodes and edges, its schemas, and runs with LangGraph's statuses.
 */
import { v5 as uuidV5 } from '@langchain/core/utils/uuid';
import type { GraphDefinition } from '@spindle/schemas';
import { NotFoundError } from '../errors.ts';
import type { GraphRecord, GraphStore, RunRecord, RunStatus } from '../graphs/store.ts';
import { planGraph } from '../graphs/validate.ts';

/** The namespace LangGraph Platform derives a graph's default assistant id from (uuid5 of the graph id). */
const ASSISTANT_NAMESPACE = '6ba7b821-9dad-11d1-80b4-00c04fd430c8';

/** The assistant id of a graph: what LangGraph Platform gives the default assistant of a graph of that name. */
export const assistantId = (graph: string): string => uuidV5(graph, ASSISTANT_NAMESPACE);

/** The graph an `assistant_id` names (the graph's name, or its assistant id); 404 the SDK raises as `HTTP 404`. */
export async function findAssistant(graphs: GraphStore, id: string): Promise<GraphRecord> {
  const byName = /^[a-z0-9-]{1,63}$/.test(id) ? await graphs.get(id) : null;
  const graph = byName ?? (await graphs.list()).find((g) => assistantId(g.name) === id.toLowerCase());
  if (!graph) throw new NotFoundError(`assistant "${id.slice(0, 100)}" not found: no graph of that name or assistant id is deployed`);
  return graph;
}

/** A graph as an assistant. */
export function assistantView(g: GraphRecord) {
  return {
    assistant_id: assistantId(g.name),
    graph_id: g.name,
    name: g.name,
    description: g.definition.description ?? null,
    config: {},
    context: {},
    metadata: { created_by: 'system' },
    version: g.version,
    created_at: g.createdAt,
    updated_at: g.updatedAt,
  };
}

/** The graph as `getGraph` shows it: `__start__`, one node per graph node (its function in `metadata`), `__end__`; an edge into a node with `when` is conditional. */
export function graphView(definition: GraphDefinition) {
  const plan = planGraph(definition, () => true);
  const nodes = [
    { id: '__start__', type: 'schema', data: '__start__' },
    ...plan.order.map((id) => ({ id, type: 'runnable', data: { id: ['spindle', 'function', definition.nodes[id].function], name: id }, metadata: { function: definition.nodes[id].function } })),
    { id: '__end__', type: 'schema', data: '__end__' },
  ];
  const edges: Array<{ source: string; target: string; conditional?: boolean; data?: string }> = [];
  for (const id of plan.order) {
    const when = definition.nodes[id].when;
    const sources = plan.deps.get(id)!;
    for (const source of sources.length ? sources : ['__start__']) edges.push(when ? { source, target: id, conditional: true, data: when } : { source, target: id });
  }
  for (const sink of plan.sinks) edges.push({ source: sink, target: '__end__' });
  return { nodes, edges };
}

/** The state a run's values follow: the run input, each node's output, the skipped nodes and, once it succeeded, the run output. */
function stateSchema(definition: GraphDefinition) {
  return {
    title: 'SpindleGraphState',
    type: 'object',
    properties: {
      input: definition.input ?? {},
      outputs: { type: 'object', properties: Object.fromEntries(Object.keys(definition.nodes).map((id) => [id, { description: `output of function "${definition.nodes[id].function}"` }])) },
      skipped: { type: 'array', items: { type: 'string' } },
      output: { description: 'the run output, once the run succeeded' },
    },
  };
}

/** `getSchemas`: the input schema is the graph's `input`; output and state are the values runs stream. */
export function schemasView(g: GraphRecord) {
  const state = stateSchema(g.definition);
  return {
    graph_id: g.name,
    input_schema: g.definition.input ?? { type: 'object' },
    output_schema: state,
    state_schema: state,
    config_schema: { type: 'object', properties: {} },
    context_schema: null,
  };
}

/** Spindle's run statuses as LangGraph's. */
const RUN_STATUS: Record<RunStatus, string> = { queued: 'pending', running: 'running', succeeded: 'success', failed: 'error', cancelled: 'interrupted' };
/** LangGraph's run statuses as Spindle's (the `status` filter of a run list). */
export const SPINDLE_STATUS: Record<string, RunStatus> = Object.fromEntries(Object.entries(RUN_STATUS).map(([k, v]) => [v, k as RunStatus]));

/** The thread a run belongs to: its LangGraph thread, or for any other run its own id (its checkpoint thread). */
export const threadOf = (run: RunRecord): string => run.threadId ?? run.id;

/** Where a run lives, as `Content-Location` tells the SDK. */
export const runLocation = (run: RunRecord): string => `/threads/${threadOf(run)}/runs/${run.id}`;

/** A run as LangGraph's `Run`. */
export function runView(run: RunRecord) {
  return {
    run_id: run.id,
    thread_id: threadOf(run),
    assistant_id: assistantId(run.graph),
    graph_id: run.graph,
    status: RUN_STATUS[run.status],
    metadata: run.metadata ?? {},
    multitask_strategy: 'reject',
    kwargs: { input: run.input },
    error: run.error,
    created_at: run.createdAt,
    updated_at: run.finishedAt ?? run.startedAt ?? run.createdAt,
  };
}
