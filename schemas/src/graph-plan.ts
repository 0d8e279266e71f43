/** Checks of a graph definition beyond its JSON Schema: references, conditions, cycles and deployed functions. */
import { parseFunctionRef } from './contracts.ts';
import { GraphInvalidError } from './errors.ts';
import type { GraphDefinition } from './graph.ts';
import { parseCondition, parsePath, references, type Condition } from './mapping.ts';

/** A checked graph: each node's full dependency list (needs plus referenced nodes), its condition, and a topological order. */
export interface PlannedGraph {
  definition: GraphDefinition;
  deps: Map<string, string[]>;
  conditions: Map<string, Condition>;
  order: string[];
  /** Nodes nothing depends on: the default run output. */
  sinks: string[];
}

function fail(node: string, field: string, message: string): never {
  throw new GraphInvalidError(`/nodes/${node}/${field}`, `node "${node}" field "${field}": ${message}`);
}

/**
 * Checks a schema-valid definition and works out its dependencies; `hasFunction` says whether a function is
 * deployed. Throws a GraphInvalidError naming the node and field.
 * @example const plan = planGraph(definition, (fn) => deployed.has(fn)); plan.order
 */
export function planGraph(definition: GraphDefinition, hasFunction: (name: string) => boolean): PlannedGraph {
  const ids = Object.keys(definition.nodes);
  const deps = new Map<string, string[]>();
  const conditions = new Map<string, Condition>();
  for (const id of ids) {
    const node = definition.nodes[id];
    // `NAME.openfaas-fn` names NAME, as on every route; another namespace does not exist.
    const ref = parseFunctionRef(node.function);
    if (ref.problem) fail(id, 'function', ref.problem.message);
    if (!hasFunction(ref.name)) fail(id, 'function', `function "${ref.name}" is not deployed`);
    const named = new Set<string>();
    for (const need of node.needs ?? []) {
      if (!definition.nodes[need]) fail(id, 'needs', `names node "${need}", which the graph does not have`);
      named.add(need);
    }
    for (const path of references(node.input)) {
      const parsed = parsePath(path);
      if (typeof parsed === 'string') fail(id, 'input', parsed);
      if (parsed.node !== undefined) {
        if (!definition.nodes[parsed.node]) fail(id, 'input', `"{{ ${path} }}" names node "${parsed.node}", which the graph does not have`);
        named.add(parsed.node);
      }
    }
    if (node.when !== undefined) {
      const condition = parseCondition(node.when);
      if (typeof condition === 'string') fail(id, 'when', condition);
      const parsed = parsePath(condition.path);
      if (typeof parsed !== 'string' && parsed.node !== undefined) {
        if (!definition.nodes[parsed.node]) fail(id, 'when', `names node "${parsed.node}", which the graph does not have`);
        named.add(parsed.node);
      }
      conditions.set(id, condition);
    }
    if (named.has(id)) fail(id, 'needs', 'a node cannot depend on itself');
    deps.set(id, [...named].sort());
  }
  for (const path of references(definition.output)) {
    const parsed = parsePath(path);
    if (typeof parsed === 'string') throw new GraphInvalidError('/output', `field "output": ${parsed}`);
    if (parsed.node !== undefined && !definition.nodes[parsed.node]) {
      throw new GraphInvalidError('/output', `field "output": "{{ ${path} }}" names node "${parsed.node}", which the graph does not have`);
    }
  }

  // Kahn's algorithm; whatever is left over sits on a cycle.
  const indegree = new Map(ids.map((id) => [id, deps.get(id)!.length]));
  const ready = ids.filter((id) => indegree.get(id) === 0);
  const order: string[] = [];
  while (ready.length) {
    const id = ready.shift()!;
    order.push(id);
    for (const other of ids) {
      if (deps.get(other)!.includes(id)) {
        indegree.set(other, indegree.get(other)! - 1);
        if (indegree.get(other) === 0) ready.push(other);
      }
    }
  }
  if (order.length < ids.length) {
    const cyclic = ids.filter((id) => !order.includes(id));
    fail(cyclic[0], 'needs', `the graph has a cycle through nodes ${cyclic.map((c) => `"${c}"`).join(', ')}`);
  }
  const needed = new Set([...deps.values()].flat());
  return { definition, deps, conditions, order, sinks: ids.filter((id) => !needed.has(id)) };
}
