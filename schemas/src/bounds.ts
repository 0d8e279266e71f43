/**
 * How deep and how large a document Spindle accepts. JSON parsers cope with any depth, but what runs after
 * them (AJV compiling or checking a schema, JSON.stringify, the mapping language, YAML's composer) recurses
 * once per level and fails with a RangeError a few thousand levels down, and AJV's compile time grows
 * faster than the schema. So every document is walked once, without recursion, before anything else
 * touches it.
 */
import type { SchemaIssue } from './validate.ts';

/** Limits of one document: levels of nesting (the root object is level 1) and object members plus array items in all. */
export interface JsonBounds {
  maxDepth: number;
  maxKeys: number;
}

/** Request bodies, run inputs, graph definitions, stack files: far beyond any real one, far below a stack overflow. */
export const DOCUMENT_BOUNDS: Readonly<JsonBounds> = Object.freeze({ maxDepth: 64, maxKeys: 100_000 });

/** JSON Schemas Spindle compiles (a graph's input): AJV takes seconds past a few hundred properties. */
export const SCHEMA_BOUNDS: Readonly<JsonBounds> = Object.freeze({ maxDepth: 64, maxKeys: 1_000 });

/** A bounds violation, naming the field like a schema issue does, with the node where it was found. */
export interface BoundsIssue<N> extends SchemaIssue {
  node: N;
}

/** The children of a tree node as `[key, child]` pairs, or null for a leaf. */
export type ChildrenOf<N> = (node: N) => Iterable<[string, N]> | null;

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Walks any tree (parsed JSON, a YAML syntax tree) with an explicit stack and reports the first place it
 * is deeper or larger than `bounds`. Shared subtrees (YAML aliases) count once per use, so expansion
 * bombs hit `maxKeys` instead of running long. The issue names `field` (a JSON pointer) when given, else
 * the root's member holding the violation.
 */
export function checkTreeBounds<N>(root: N, childrenOf: ChildrenOf<N>, bounds: JsonBounds, field?: string): BoundsIssue<N> | null {
  const stack: Array<{ node: N; depth: number; top: string }> = [{ node: root, depth: 1, top: '' }];
  let keys = 0;
  while (stack.length) {
    const { node, depth, top } = stack.pop()!;
    const children = childrenOf(node);
    if (children === null) continue;
    if (depth > bounds.maxDepth) {
      return { path: field ?? top, message: `is nested deeper than ${bounds.maxDepth} levels`, node };
    }
    for (const [key, child] of children) {
      if (++keys > bounds.maxKeys) return { path: field ?? '', message: `has more than ${bounds.maxKeys} keys and items in all`, node };
      stack.push({ node: child, depth: depth + 1, top: depth === 1 ? `/${escapePointer(key)}` : top });
    }
  }
  return null;
}

function* jsonChildren(value: unknown): Iterable<[string, unknown]> {
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield [String(i), value[i]];
  else for (const key in value as object) if (Object.hasOwn(value as object, key)) yield [key, (value as Record<string, unknown>)[key]];
}

/**
 * Checks a parsed JSON document against `bounds` before anything recursive touches it; null when it fits.
 * @example
 * const issue = checkJsonBounds(body, DOCUMENT_BOUNDS);
 * if (issue) throw new BadRequestError(`field "${fieldName(issue.path)}" ${issue.message}`);
 */
export function checkJsonBounds(value: unknown, bounds: JsonBounds = DOCUMENT_BOUNDS, field?: string): SchemaIssue | null {
  const issue = checkTreeBounds(value, (v) => (v !== null && typeof v === 'object' ? jsonChildren(v) : null), bounds, field);
  return issue && { path: issue.path, message: issue.message };
}
