/**
 * Lays a graph definition out as a DAG drawing: dependencies come from the same planGraph() the gateway and
 * the CLI use (`needs` plus every node a mapping or `when` names), positions from dagre (top to bottom).
 */
import { Graph, layout } from '@dagrejs/dagre';
import { planGraph } from '@spindle/schemas/graph-plan';
import type { GraphDefinition } from '../types.ts';

export interface DagNode {
  id: string;
  fn: string;
  /** The node's `when` condition, drawn on its incoming edges and under its name. */
  when?: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface DagEdge {
  from: string;
  to: string;
  /** The target's `when`, when the edge carries the node it reads the condition from (or any, without a node in it). */
  when?: string;
  points: Array<{ x: number; y: number }>;
}

export interface DagLayout {
  nodes: DagNode[];
  edges: DagEdge[];
  width: number;
  height: number;
  /** Node ids in an order that respects every dependency. */
  order: string[];
}

const NODE_W = 168;
const NODE_H = 52;

/** The node a `when` condition reads from (`nodes.X.output…`), if any. */
function conditionSource(when: string): string | undefined {
  return /^\s*!?\s*nodes\.([A-Za-z0-9_-]+)\./.exec(when)?.[1];
}

/**
 * Positions every node and routes every dependency edge. Throws the gateway's GraphInvalidError message
 * for a definition it would refuse (a cycle, a missing node).
 * @example const { nodes, edges, width, height } = layoutGraph(graph.definition);
 */
export function layoutGraph(definition: GraphDefinition): DagLayout {
  // The drawing does not care whether functions are deployed; the gateway says so when a run starts.
  const plan = planGraph(definition as Parameters<typeof planGraph>[0], () => true);
  const g = new Graph({ multigraph: false });
  g.setGraph({ rankdir: 'TB', nodesep: 28, ranksep: 48, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const id of plan.order) g.setNode(id, { width: NODE_W, height: NODE_H });
  for (const [id, deps] of plan.deps) for (const dep of deps) g.setEdge(dep, id);
  layout(g);

  const nodes: DagNode[] = plan.order.map((id) => {
    const n = g.node(id);
    const def = definition.nodes[id];
    return { id, fn: def.function, when: def.when, x: n.x - NODE_W / 2, y: n.y - NODE_H / 2, width: NODE_W, height: NODE_H };
  });
  const edges: DagEdge[] = g.edges().map((e) => {
    const when = definition.nodes[e.w].when;
    const source = when ? conditionSource(when) : undefined;
    return { from: e.v, to: e.w, when: when && (source === undefined || source === e.v) ? when : undefined, points: g.edge(e).points ?? [] };
  });
  const { width = 0, height = 0 } = g.graph();
  return { nodes, edges, width, height, order: plan.order };
}
