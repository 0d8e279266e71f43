/**
 * stack.yml: OpenFaaS's stack file format, plus `lang: control|gpu` and a `graphs:` section. With
 * `provider.name: openfaas`, what this schema accepts faas-cli 0.16 reads too: it ignores keys it does not
 * know (`graphs:`) and does not check `lang` for list, describe, invoke or remove. (What its `${VAR}`
 * substitution refuses in the text is checked by the CLI, which reads the text.)
 */
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
        // faas-cli accepts only "openfaas"; "spindle" is still read, for stacks written before it was the default.
        name: { type: 'string', enum: ['openfaas', 'spindle'] },
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
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keywords, not a thenable
        then: { type: 'object', properties: { file: { type: 'string', minLength: 1 } }, additionalProperties: false },
        else: graphBody,
      },
    },
    // Spindle ignores it; faas-cli reads `templates` and `copy` into typed fields and refuses other shapes.
    configuration: {
      type: 'object',
      properties: {
        templates: {
          type: 'array',
          items: { type: 'object', properties: { name: { type: 'string' }, source: { type: 'string' } } },
        },
        copy: { type: 'array', items: { type: 'string' } },
      },
    },
  },
  additionalProperties: false,
} as const;
export type StackFile = FromSchema<typeof stackFileSchema>;
