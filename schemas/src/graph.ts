/** Graph definitions (stack.yml `graphs:` and `PUT /system/graphs/:name`) and run events. */
import type { FromSchema } from 'json-schema-to-ts';

/** A node id: letters, digits, `_` and `-` (used in mappings as `nodes.<id>`). */
export const nodeId = { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{0,62}$' } as const;

export const graphNodeSchema = {
  type: 'object',
  required: ['function'],
  properties: {
    function: { type: 'string', minLength: 1, maxLength: 63, description: 'the deployed function this node invokes' },
    input: { description: 'the request body: JSON in which "{{ input.x }}" and "{{ nodes.id.output.y }}" are replaced' },
    needs: { type: 'array', items: nodeId, uniqueItems: true, description: 'nodes that must finish first (nodes a mapping names are added)' },
    when: { type: 'string', minLength: 1, maxLength: 500, description: 'run only if this holds, e.g. "nodes.check.output.ok == true"' },
    retry: {
      type: 'object',
      properties: {
        attempts: { type: 'integer', minimum: 1, maximum: 20, default: 1 },
        backoffMs: { type: 'integer', minimum: 0, maximum: 600000, default: 200 },
      },
      additionalProperties: false,
    },
    timeoutMs: { type: 'integer', minimum: 1, maximum: 3600000 },
  },
  additionalProperties: false,
} as const;
export type GraphNode = FromSchema<typeof graphNodeSchema>;

export const graphDefinitionSchema = {
  $id: 'spindle/graph',
  type: 'object',
  required: ['nodes'],
  properties: {
    description: { type: 'string', maxLength: 2000 },
    input: { type: 'object', description: 'JSON Schema of the run input' },
    example: { description: 'an example run input' },
    output: { description: 'the run output: a mapping like a node input; default: the outputs of the nodes nothing depends on' },
    nodes: {
      type: 'object',
      minProperties: 1,
      maxProperties: 200,
      propertyNames: nodeId,
      additionalProperties: graphNodeSchema,
    },
  },
  additionalProperties: false,
} as const;
export type GraphDefinition = FromSchema<typeof graphDefinitionSchema>;

/** What the run event stream carries (`GET /runs/:id/events`, one SSE event each). */
export const runEventSchema = {
  $id: 'spindle/run-event',
  type: 'object',
  required: ['seq', 'runId', 'type', 'at'],
  properties: {
    seq: { type: 'integer', minimum: 1 },
    runId: { type: 'string' },
    type: {
      type: 'string',
      enum: ['run.started', 'run.resumed', 'node.started', 'node.progress', 'node.succeeded', 'node.failed', 'node.skipped', 'node.retrying', 'run.succeeded', 'run.failed', 'run.cancelled'],
    },
    node: { type: 'string' },
    at: { type: 'string' },
    data: { type: 'object' },
  },
  additionalProperties: false,
} as const;
export type RunEvent = FromSchema<typeof runEventSchema>;
