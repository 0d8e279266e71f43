/** Graph metrics from run events: runs by final status and node durations, labelled with the run's graph. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { GraphMetrics } from './metrics.ts';

const at = new Date().toISOString();

describe('GraphMetrics', () => {
  it('is registered before any run, then counts runs by status and node durations per graph', async () => {
    const registry = new Registry();
    const m = new GraphMetrics(registry);
    const before = await registry.metrics();
    for (const name of ['spindle_graph_runs_total', 'spindle_graph_runs_started_total', 'spindle_graph_node_seconds']) expect(before).toContain(`# TYPE ${name} `);
    m.observe({ seq: 1, runId: 'r1', type: 'run.started', at, data: { graph: 'pipeline', version: 1 } });
    m.observe({ seq: 2, runId: 'r1', type: 'node.succeeded', node: 'tts', at, data: { attempts: 1, durationMs: 250 } });
    m.observe({ seq: 3, runId: 'r1', type: 'run.succeeded', at, data: {} });
    m.observe({ seq: 1, runId: 'r2', type: 'run.started', at, data: { graph: 'pipeline', version: 1 } });
    m.observe({ seq: 2, runId: 'r2', type: 'run.failed', at, data: { error: 'boom' } });
    const text = await registry.metrics();
    expect(text).toContain('spindle_graph_runs_started_total{graph="pipeline"} 2');
    expect(text).toContain('spindle_graph_runs_total{graph="pipeline",status="succeeded"} 1');
    expect(text).toContain('spindle_graph_runs_total{graph="pipeline",status="failed"} 1');
    expect(text).toContain('spindle_graph_node_seconds_sum{graph="pipeline",node="tts"} 0.25');
    expect(text).toContain('spindle_graph_node_seconds_count{graph="pipeline",node="tts"} 1');
  });
});
