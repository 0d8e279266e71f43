import { describe, expect, it } from 'vitest';
import { checkJsonBounds, checkTreeBounds, DOCUMENT_BOUNDS, SCHEMA_BOUNDS } from './bounds.ts';
import { GraphInvalidError } from './errors.ts';
import { checkGraphDefinition, compileInputSchema } from './graph-check.ts';

/** `{ a: { a: ... } }`, `levels` objects deep, built without recursion. */
function nested(levels: number, leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

/** An object schema nesting `levels` object schemas (two JSON levels each). */
function nestedSchema(levels: number): Record<string, unknown> {
  let v: Record<string, unknown> = { type: 'string' };
  for (let i = 0; i < levels; i++) v = { type: 'object', properties: { a: v } };
  return v;
}

function graphError(definition: unknown): GraphInvalidError {
  try {
    checkGraphDefinition(definition);
  } catch (err) {
    if (err instanceof GraphInvalidError) return err;
    throw err;
  }
  throw new Error('expected the definition to be refused');
}

describe('checkJsonBounds', () => {
  it('accepts documents up to the limits and names the top-level field past them', () => {
    expect(checkJsonBounds(nested(64))).toBeNull();
    expect(checkJsonBounds({ labels: nested(64) })).toEqual({ path: '/labels', message: 'is nested deeper than 64 levels' });
    expect(checkJsonBounds({ ok: 1, input: [nested(100_000)] })).toEqual({ path: '/input', message: 'is nested deeper than 64 levels' });
    expect(checkJsonBounds(nested(70), DOCUMENT_BOUNDS, '/nodes/a/input')?.path).toBe('/nodes/a/input');
  });

  it('counts object members and array items in all', () => {
    expect(checkJsonBounds({ a: new Array(49_999).fill(0), b: new Array(49_999).fill(0) })).toBeNull();
    expect(checkJsonBounds({ a: new Array(49_999).fill(0), b: new Array(50_000).fill(0) })).toEqual({ path: '', message: 'has more than 100000 keys and items in all' });
    expect(checkJsonBounds({ properties: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`p${i}`, 1])) }, SCHEMA_BOUNDS)?.message).toBe(
      'has more than 1000 keys and items in all',
    );
  });

  it('stops on shared and circular structures instead of walking them forever', () => {
    let shared: unknown = [0];
    for (let i = 0; i < 40; i++) shared = [shared, shared, shared, shared];
    expect(checkJsonBounds(shared)?.message).toMatch(/more than 100000 keys/);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(checkJsonBounds(loop)?.message).toMatch(/nested deeper than 64/);
  });

  it('walks any tree through a children function', () => {
    type T = { kids: T[] };
    let t: T = { kids: [] };
    for (let i = 0; i < 10; i++) t = { kids: [t] };
    const issue = checkTreeBounds(t, (n) => (n.kids.length ? n.kids.map((k, i) => [String(i), k] as [string, T]) : null), { maxDepth: 5, maxKeys: 100 });
    expect(issue?.message).toBe('is nested deeper than 5 levels');
    expect(issue?.node.kids.length).toBe(1);
  });
});

describe('checkGraphDefinition', () => {
  const node = { function: 'tick' };

  it('refuses a deep input schema, naming the field, before AJV sees it', () => {
    const err = graphError({ input: nestedSchema(1500), nodes: { a: node } });
    expect(err.message).toBe('field "input" is nested deeper than 64 levels');
    expect(err.path).toBe('/input');
  });

  it('refuses an input schema too large to compile quickly', () => {
    const properties = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`p${i}`, { type: 'string' }]));
    expect(graphError({ input: { type: 'object', properties }, nodes: { a: node } }).message).toBe('field "input" has more than 1000 keys and items in all');
  });

  it('names a deep node input and a deep example', () => {
    expect(graphError({ nodes: { a: { ...node, input: nested(5000) } } }).message).toBe('field "nodes.a.input" is nested deeper than 64 levels');
    expect(graphError({ example: nested(5000), nodes: { a: node } }).message).toBe('field "example" is nested deeper than 64 levels');
  });

  it('compiles the input schema: what AJV refuses is a 400-style error on "input"', () => {
    expect(graphError({ input: { type: 'nope' }, nodes: { a: node } }).message).toMatch(/^field "input" is not a JSON Schema Spindle can use: schema is invalid/);
    expect(graphError({ input: { $ref: 'http://example.com/s.json' }, nodes: { a: node } }).message).toMatch(/can't resolve reference/);
    expect(graphError({ input: { $async: true, type: 'object' }, nodes: { a: node } }).message).toMatch(/"\$async"/);
    expect(graphError({ input: { $ref: '#' }, nodes: { a: node } }).message).toBe('field "input" refers to itself without end (a "$ref" loop that reads no deeper into the input)');
    // AJV itself overflows on some loops while compiling: that too is the definition's fault, not a 500.
    expect(graphError({ input: { properties: { a: { $ref: '#/properties/a' } } }, nodes: { a: node } }).message).toMatch(/^field "input" is not a JSON Schema/);
  });

  it('plans the graph: cycles are refused with the node and field', () => {
    const err = graphError({ nodes: { a: { ...node, needs: ['b'] }, b: { ...node, needs: ['a'] } } });
    expect(err.message).toBe('node "a" field "needs": the graph has a cycle through nodes "a", "b"');
    expect(err.path).toBe('/nodes/a/needs');
    expect(checkGraphDefinition({ nodes: { a: node, b: { ...node, needs: ['a'] } } }).order).toEqual(['a', 'b']);
  });
});

describe('compileInputSchema', () => {
  it('compiles schemas with the same $id again and again (one Ajv each)', () => {
    const schema = () => ({ $id: 'spindle-test/input', type: 'object', required: ['name'] });
    expect(compileInputSchema(schema()).check({ name: 'x' })).toBeNull();
    expect(compileInputSchema(schema()).check({})).toEqual({ path: '/name', message: 'is required' });
  });

  it('answers an issue, never a RangeError, for a schema that loops on some inputs only', () => {
    const validator = compileInputSchema({ type: 'object', properties: { a: { allOf: [{ $ref: '#/properties/a' }] } } });
    expect(validator.check({})).toBeNull();
    expect(validator.check({ a: 1 })?.message).toMatch(/refers to itself without end/);
  });
});
