/**
 * Graph metrics, fed from the run events this gateway stores: runs by final status and node durations, both
 * registered at start (so dashboards and alert rules find them before the first run).
 */
import type { RunEvent } from '@spindle/schemas';
import { Counter, Histogram, type Registry } from 'prom-client';

/** Runs kept in the run → graph map at most (a run that never ends on this instance must not grow it forever). */
const MAX_TRACKED_RUNS = 10_000;

export class GraphMetrics {
  private readonly runs: Counter<'graph' | 'status'>;
  private readonly nodes: Histogram<'graph' | 'node'>;
  private readonly started: Counter<'graph'>;
  /** The graph of each run that started here (events name the run, not its graph). */
  private readonly graphOf = new Map<string, string>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.started = new Counter({ name: 'spindle_graph_runs_started_total', help: 'Graph runs started', labelNames: ['graph'], registers });
    this.runs = new Counter({ name: 'spindle_graph_runs_total', help: 'Graph runs finished, by status (succeeded, failed, cancelled)', labelNames: ['graph', 'status'], registers });
    this.nodes = new Histogram({
      name: 'spindle_graph_node_seconds',
      help: 'Time a graph node took to succeed, retries included',
      labelNames: ['graph', 'node'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    });
  }

  /** Counts one stored run event. */
  observe(event: RunEvent): void {
    const data = (event.data ?? {}) as Record<string, unknown>;
    if (event.type === 'run.started') {
      const graph = typeof data.graph === 'string' ? data.graph : '';
      if (this.graphOf.size >= MAX_TRACKED_RUNS) this.graphOf.delete(this.graphOf.keys().next().value as string);
      this.graphOf.set(event.runId, graph);
      this.started.inc({ graph });
      return;
    }
    const graph = this.graphOf.get(event.runId) ?? '';
    if (event.type === 'node.succeeded' && event.node && typeof data.durationMs === 'number') {
      this.nodes.observe({ graph, node: event.node }, data.durationMs / 1000);
    } else if (event.type === 'run.succeeded' || event.type === 'run.failed' || event.type === 'run.cancelled') {
      this.runs.inc({ graph, status: event.type.slice('run.'.length) });
      this.graphOf.delete(event.runId);
    }
  }
}
