/** Graphs and runs from the CLI: deploy stack.yml's `graphs:`, start runs, follow their events, list them. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkGraphDefinition, GraphInvalidError, type GraphDefinition, type RunEvent } from '@spindle/schemas';
import type { GatewayClient } from './client.ts';
import { UsageError } from './errors.ts';
import { follow, type Reconnect } from './follow.ts';
import { projectPath } from './project-paths.ts';
import { sseMessages } from './sse.ts';
import { displayPath, type LoadedStack } from './stack.ts';
import { readYaml, segmentsOf } from './yaml.ts';

/** A graph of the stack, with its definition loaded (from `file:` when it points to one). */
export interface StackGraph {
  name: string;
  definition: GraphDefinition;
}

/** A run as the API shows it. */
export interface RunView {
  runId: string;
  graph: string;
  status: string;
  input: unknown;
  output: unknown;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  nodes?: Array<{ node: string; status: string; attempts: number; durationMs: number | null; error: string | null }>;
}

/** Options of `loadGraphs`. */
export interface LoadGraphsOptions {
  /**
   * Functions the gateway already runs, asked only when a graph names a function the stack lacks. Without
   * it such functions are taken on trust (the gateway checks them when the graph is deployed).
   */
  deployed?: () => Promise<ReadonlySet<string>>;
}

/** A definition read from the stack, and how to point an error at a field of it. */
interface Loaded {
  name: string;
  value: unknown;
  fail(pointer: string, detail: string): never;
}

async function readGraph(stack: LoadedStack, name: string, entry: unknown): Promise<Loaded> {
  const inStack = (pointer: string, detail: string): never => {
    if (stack.yaml) stack.yaml.fail(['graphs', name, ...segmentsOf(pointer)], `graph ${name}: ${detail}`);
    throw new UsageError(`${displayPath(stack.file)}: graph ${name}: ${detail}`);
  };
  const file = (entry as { file?: unknown }).file;
  if (typeof file !== 'string') return { name, value: entry, fail: inStack };
  // loadStack refused a file outside the project; asked again here, at the moment it is read.
  const found = await projectPath(stack.dir, file);
  if ('outside' in found) inStack('/file', `file "${file}" ${found.outside}: paths in a stack file must stay inside its folder`);
  const abs = (found as { path: string }).path;
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    throw new UsageError(`graph ${name}: cannot read ${file}: ${(err as Error).message}`);
  }
  // Named like the stack file is (relative to where the command runs).
  const yaml = readYaml(text, stack.yaml ? path.join(path.dirname(stack.yaml.file), file) : displayPath(abs));
  return { name, value: yaml.value, fail: (pointer, detail) => yaml.fail(segmentsOf(pointer), `graph ${name}: ${detail}`) };
}

/**
 * The stack's graphs, each checked as the gateway will check it (bounds, schema, input schema compiled,
 * references, cycles, and with `deployed` the functions it names), so that `deploy`, `up` and `start` can
 * refuse a stack before they send anything. `file:` entries are read relative to stack.yml (YAML or JSON).
 * @example const graphs = await loadGraphs(stack); graphs.map((g) => g.name)
 */
export async function loadGraphs(stack: LoadedStack, options: LoadGraphsOptions = {}): Promise<StackGraph[]> {
  const loaded: Loaded[] = [];
  for (const [name, entry] of Object.entries(stack.stack.graphs ?? {})) loaded.push(await readGraph(stack, name, entry));
  const inStack = new Set(stack.functions.map((f) => f.name));
  const named = loaded.flatMap((g) => Object.values(((g.value as GraphDefinition | null)?.nodes ?? {}) as Record<string, { function?: unknown }>).map((n) => n?.function));
  const elsewhere = named.some((fn) => typeof fn === 'string' && !inStack.has(fn));
  const deployed = elsewhere && options.deployed ? await options.deployed() : undefined;
  const hasFunction = (fn: string) => inStack.has(fn) || (deployed ? deployed.has(fn) : true);
  return loaded.map((g) => {
    try {
      return { name: g.name, definition: checkGraphDefinition(g.value, hasFunction).definition };
    } catch (err) {
      if (err instanceof GraphInvalidError) g.fail(err.path, err.message);
      throw err;
    }
  });
}

/** The names of the functions a gateway runs (for `loadGraphs`'s `deployed`). */
export async function deployedFunctions(client: GatewayClient): Promise<ReadonlySet<string>> {
  return new Set((await client.listFunctions()).map((f) => f.name));
}

/** PUTs checked graphs (see `loadGraphs`) in order; the gateway checks them again. */
export async function deployGraphs(client: GatewayClient, graphs: StackGraph[], onResult?: (name: string, version: number) => void): Promise<StackGraph[]> {
  for (const g of graphs) {
    const res = await client.call('PUT', `/system/graphs/${encodeURIComponent(g.name)}`, g.definition);
    const body = (await res.json()) as { version: number };
    onResult?.(g.name, body.version);
  }
  return graphs;
}

/** Starts a run; with `wait` the gateway answers when it has finished. */
export async function startRun(client: GatewayClient, graph: string, input: unknown, wait = false): Promise<RunView> {
  const res = await client.call('POST', `/graphs/${encodeURIComponent(graph)}/runs${wait ? '?wait=true' : ''}`, { input }, { allow: [500] });
  return (await res.json()) as RunView;
}

/** One run with its nodes. */
export async function getRun(client: GatewayClient, runId: string): Promise<RunView> {
  return (await (await client.call('GET', `/runs/${encodeURIComponent(runId)}`)).json()) as RunView;
}

/** A page of runs, newest first. */
export async function listRuns(client: GatewayClient, q: { graph?: string; status?: string; limit?: number; cursor?: string }): Promise<{ runs: RunView[]; next: string | null }> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
  return (await (await client.call('GET', `/runs?${params}`)).json()) as { runs: RunView[]; next: string | null };
}

/** A graph's stored definition (for its `example` input). */
export async function getGraph(client: GatewayClient, name: string): Promise<GraphDefinition> {
  return ((await (await client.call('GET', `/system/graphs/${encodeURIComponent(name)}`)).json()) as { definition: GraphDefinition }).definition;
}

/** Options of `runEvents`. */
export interface RunEventsOptions {
  /** The number of the last event already seen (sent as Last-Event-ID): the stream starts after it. */
  after?: string;
  signal?: AbortSignal;
}

/**
 * The run's events (`text/event-stream`), from the first (or after `after`), until the run ends or the
 * connection drops (StreamDroppedError). `followRun` reconnects.
 */
export async function* runEvents(client: GatewayClient, runId: string, opts: RunEventsOptions = {}): AsyncGenerator<RunEvent> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (opts.after !== undefined) headers['last-event-id'] = opts.after;
  const res = await client.call('GET', `/runs/${encodeURIComponent(runId)}/events`, undefined, { signal: opts.signal, headers });
  if (!res.body) return;
  for await (const m of sseMessages(res.body, `the events of run ${runId}`)) yield JSON.parse(m.data) as RunEvent;
}

/** Options of `followRun`. */
export interface FollowRunOptions {
  signal?: AbortSignal;
  /** Called before each reconnection (for a "reconnecting…" line). */
  onReconnect?(r: Reconnect): void;
}

/**
 * Every event of the run, once each and in order, until it ends: a dropped connection (or a gateway that
 * restarts) is reopened with Last-Event-ID set to the last event seen.
 * @example for await (const e of followRun(client, runId, { onReconnect: (r) => console.error(reconnectingLine(r)) })) console.log(e.type);
 */
export function followRun(client: GatewayClient, runId: string, opts: FollowRunOptions = {}): AsyncGenerator<RunEvent> {
  return follow((after) => runEvents(client, runId, { after, signal: opts.signal }), {
    what: `the events of run ${runId}`,
    cursorOf: (e) => String(e.seq),
    // The gateway ends the stream after the run's final event, and also when it shuts down: ask which.
    finished: async () => (await getRun(client, runId)).finishedAt !== null,
    onReconnect: opts.onReconnect,
    signal: opts.signal,
  });
}
