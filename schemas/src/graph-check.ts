/**
 * Everything a graph definition must pass before it is stored, in the order that keeps each step safe:
 * bounds first (nothing recursive has touched the body yet), then the JSON Schema, then the input schema
 * compiled the way runs will use it, then the plan. The gateway runs this on `PUT /system/graphs/:name`;
 * the CLI runs it on every graph of a stack before it deploys anything.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { checkJsonBounds, DOCUMENT_BOUNDS, SCHEMA_BOUNDS } from './bounds.ts';
import { GraphInvalidError } from './errors.ts';
import { graphDefinitionSchema, type GraphDefinition } from './graph.ts';
import { planGraph, type PlannedGraph } from './graph-plan.ts';
import { compile, describeIssue, fieldName, type SchemaIssue, type Validator } from './validate.ts';

/** The JSON Schema check of a graph definition (bounds come first: see checkGraphDefinition). */
export const validateGraphDefinition = compile<GraphDefinition>(graphDefinitionSchema);

const SELF_LOOP = "cannot be checked: the graph's input schema refers to itself without end";

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const pointer = (...keys: string[]) => keys.map((k) => `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

function invalid(issue: SchemaIssue, cause?: unknown): never {
  const subject = issue.path ? `field "${fieldName(issue.path)}"` : 'the graph definition';
  throw new GraphInvalidError(issue.path, `${subject} ${issue.message}`, { cause });
}

/** Run inputs are checked against the graph's `input` schema with this, and so is the schema at deploy time. */
function newAjv(): Ajv {
  // One Ajv per schema: ids (`$id`) of different graphs, or of two versions of one, never collide. useDefaults:
  // a run's input gets the schema's `default`s for what it leaves out, before it is stored and mapped.
  return new Ajv({ allErrors: false, strict: false, logger: false, useDefaults: true });
}

/**
 * Compiles a graph's input schema (already within SCHEMA_BOUNDS). A schema AJV cannot compile, or one it
 * could only check asynchronously, is a GraphInvalidError on `input`; the validator never throws: a
 * schema that refers to itself without end makes `check` answer an issue, not a RangeError.
 */
export function compileInputSchema(schema: object): Validator<unknown> {
  let fn: ValidateFunction;
  try {
    fn = newAjv().compile(schema);
  } catch (err) {
    invalid({ path: '/input', message: `is not a JSON Schema Spindle can use: ${(err as Error).message}` }, err);
  }
  if ((fn as { $async?: boolean }).$async) invalid({ path: '/input', message: 'is an asynchronous schema ("$async"), which Spindle does not support' });
  const check = (value: unknown): SchemaIssue | null => {
    try {
      if (fn(value)) return null;
    } catch (err) {
      if (err instanceof RangeError) return { path: '', message: SELF_LOOP };
      throw err;
    }
    return describeIssue(fn.errors![0]);
  };
  return { check, is: (value): value is unknown => check(value) === null };
}

/**
 * Checks a graph definition from a request body or a stack file and plans it; throws a GraphInvalidError
 * whose `path` points at the field. `hasFunction` defaults to "every function exists".
 * @example const plan = checkGraphDefinition(JSON.parse(text)); plan.order
 */
export function checkGraphDefinition(body: unknown, hasFunction: (name: string) => boolean = () => true): PlannedGraph {
  // Node inputs first, so a deep one is named precisely rather than as "nodes".
  if (isObject(body) && isObject(body.nodes)) {
    for (const [id, node] of Object.entries(body.nodes)) {
      if (!isObject(node)) continue;
      const issue = checkJsonBounds(node.input, DOCUMENT_BOUNDS, pointer('nodes', id, 'input'));
      if (issue) invalid(issue);
    }
  }
  if (isObject(body) && body.input !== undefined) {
    const issue = checkJsonBounds(body.input, SCHEMA_BOUNDS, '/input');
    if (issue) invalid(issue);
  }
  const bounds = checkJsonBounds(body, DOCUMENT_BOUNDS);
  if (bounds) invalid(bounds);
  const issue = validateGraphDefinition.check(body);
  if (issue) invalid(issue);
  const definition = body as GraphDefinition;
  if (definition.input) {
    const validator = compileInputSchema(definition.input);
    // A schema that recurses without end on the simplest inputs is refused now, not at its first run.
    for (const sample of [definition.example, {}, null]) {
      const sampled = sample === undefined ? null : validator.check(sample);
      if (sampled?.message === SELF_LOOP) invalid({ path: '/input', message: 'refers to itself without end (a "$ref" loop that reads no deeper into the input)' });
    }
  }
  return planGraph(definition, hasFunction);
}
