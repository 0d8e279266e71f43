/** stack.yml: OpenFaaS's stack file format, plus `lang: control|gpu` and a `graphs:` section. */
import type { FromSchema } from 'json-schema-to-ts';
import { dnsLabel, envMap, resources, stringMap } from './common.ts';
import { graphDefinitionSchema } from './graph.ts';

const { $id: _graphId, ...graphBody } = graphDefinitionSchema;

export const stackFunctionSchema = {
  type: 'object',
  required: ['handler'],
  properties: {
    lang: { type: 'string', enum: ['control', 'gpu'], default: 'control' },
    handler: { type: 'string', minLength: 1, description: 'folder holding handler.ts, relative to stack.yml' },
    image: { type: 'string', description: 'ignored: the CLI fills in bundle://sha256:<digest>' },
    environment: envMap,
    environment_file: { type: 'array', items: { type: 'string' } },
    secrets: { type: 'array', items: dnsLabel },
    labels: stringMap,
    annotations: stringMap,
    limits: resources,
    requests: resources,
    namespace: { type: 'string' },
  },
  additionalProperties: false,
} as const;
export type StackFunction = FromSchema<typeof stackFunctionSchema>;

export const stackFileSchema = {
  $id: 'spindle/stack',
  type: 'object',
  required: ['provider', 'functions'],
  properties: {
    // faas-cli accepts "1.0" only (the text written: `version: 1.0` or `"1.0"`; not `1`, not `1.00`).
    version: { enum: ['1.0'] },
    provider: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', enum: ['spindle', 'openfaas'] },
        gateway: { type: 'string', pattern: '^https?://' },
      },
      additionalProperties: false,
    },
    functions: {
      type: 'object',
      propertyNames: dnsLabel,
      additionalProperties: stackFunctionSchema,
    },
    graphs: {
      type: 'object',
      propertyNames: dnsLabel,
      additionalProperties: {
        // `file:` points to a YAML/JSON file holding the definition; otherwise it is written inline.
        if: { type: 'object', required: ['file'] },
        then: { type: 'object', properties: { file: { type: 'string', minLength: 1 } }, additionalProperties: false },
        else: graphBody,
      },
    },
    configuration: { type: 'object' },
  },
  additionalProperties: false,
} as const;
export type StackFile = FromSchema<typeof stackFileSchema>;
