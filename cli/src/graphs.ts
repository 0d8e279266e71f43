/** Graphs and runs from the CLI: deploy stack.yml's `graphs:`, start runs, follow their events, list them. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import type { GraphDefinition, RunEvent } from '@spindle/schemas';
import type { GatewayClient } from './client.ts';
import { UsageError } from './errors.ts';
import type { LoadedStack } from './stack.ts';

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

/** The stack's graphs; `file:` entries are read relative to stack.yml (YAML or JSON). */
export async function loadGraphs(stack: LoadedStack): Promise<StackGraph[]> {
  const graphs = (stack.stack.graphs ?? {}) as Record<string, GraphDefinition | { file: string }>;
  const out: StackGraph[] = [];
  for (const [name, entry] of Object.entries(graphs)) {
    if ('file' in entry && typeof entry.file === 'string') {
      const file = path.resolve(stack.dir, entry.file);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        throw new UsageError(`graph ${name}: cannot read ${entry.file}: ${(err as Error).message}`);
      }
      const doc = YAML.parseDocument(text, { prettyErrors: true });
      if (doc.errors.length) throw new UsageError(`${entry.file}: ${doc.errors[0].message}`);
      out.push({ name, definition: doc.toJS() as GraphDefinition });
    } else {
      out.push({ name, definition: entry as GraphDefinition });
    }
  }
  return out;
}

/** PUTs every graph of the stack; the gateway validates (400 naming the node and field). */
export async function deployGraphs(client: GatewayClient, stack: LoadedStack, onResult?: (name: string, version: number) => void): Promise<StackGraph[]> {
  const graphs = await loadGraphs(stack);
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

/** The run's events (`text/event-stream`), from the first, until the run ends. */
export async function* runEvents(client: GatewayClient, runId: string, signal?: AbortSignal): AsyncGenerator<RunEvent> {
  const res = await client.call('GET', `/runs/${encodeURIComponent(runId)}/events`, undefined, { signal, headers: { accept: 'text/event-stream' } });
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
    let end: number;
    // An SSE frame ends with a blank line; only `data:` lines matter here (comments are pings).
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = frame
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (data) yield JSON.parse(data) as RunEvent;
    }
  }
}
