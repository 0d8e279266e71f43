/** OpenFaaS-compatible management API bodies: deploy, scale, delete, secrets, status. */
import type { FromSchema } from 'json-schema-to-ts';
import { dnsLabel, resources, stringMap } from './common.ts';

/** `POST/PUT /system/functions`: OpenFaaS's FunctionDeployment, field for field. */
export const deployRequestSchema = {
  $id: 'spindle/deploy-request',
  type: 'object',
  required: ['service', 'image'],
  properties: {
    service: dnsLabel,
    image: { type: 'string', minLength: 1, maxLength: 512 },
    namespace: { type: 'string' },
    envProcess: { type: 'string' },
    envVars: stringMap,
    constraints: { type: 'array', items: { type: 'string' } },
    secrets: { type: 'array', items: dnsLabel, maxItems: 64 },
    labels: stringMap,
    annotations: stringMap,
    limits: resources,
    requests: resources,
    readOnlyRootFilesystem: { type: 'boolean' },
  },
  additionalProperties: true,
} as const;
export type DeployRequest = FromSchema<typeof deployRequestSchema>;

/** `POST /system/scale-function/:name`. */
export const scaleRequestSchema = {
  $id: 'spindle/scale-request',
  type: 'object',
  required: ['replicas'],
  properties: {
    serviceName: { type: 'string' },
    namespace: { type: 'string' },
    replicas: { type: 'integer', minimum: 0, maximum: 1000 },
  },
  additionalProperties: true,
} as const;
export type ScaleRequest = FromSchema<typeof scaleRequestSchema>;

/** `DELETE /system/functions`. */
export const deleteRequestSchema = {
  $id: 'spindle/delete-request',
  type: 'object',
  required: ['functionName'],
  properties: {
    functionName: { type: 'string', minLength: 1 },
    namespace: { type: 'string' },
  },
  additionalProperties: true,
} as const;
export type DeleteRequest = FromSchema<typeof deleteRequestSchema>;

/** `POST/PUT/DELETE /system/secrets`: OpenFaaS's Secret. `rawValue` is base64 bytes. */
export const secretRequestSchema = {
  $id: 'spindle/secret-request',
  type: 'object',
  required: ['name'],
  properties: {
    name: dnsLabel,
    namespace: { type: 'string' },
    value: { type: 'string', maxLength: 524288 },
    rawValue: { type: 'string', maxLength: 700000 },
  },
  additionalProperties: true,
} as const;
export type SecretRequest = FromSchema<typeof secretRequestSchema>;

/** What `GET /system/functions` lists and `GET /system/function/:name` returns (OpenFaaS FunctionStatus). */
export const functionStatusSchema = {
  $id: 'spindle/function-status',
  type: 'object',
  required: ['name', 'image', 'namespace', 'replicas', 'availableReplicas', 'invocationCount'],
  properties: {
    name: { type: 'string' },
    image: { type: 'string' },
    namespace: { type: 'string' },
    envProcess: { type: 'string' },
    envVars: stringMap,
    constraints: { type: 'array', items: { type: 'string' } },
    secrets: { type: 'array', items: { type: 'string' } },
    labels: stringMap,
    annotations: stringMap,
    limits: resources,
    requests: resources,
    readOnlyRootFilesystem: { type: 'boolean' },
    invocationCount: { type: 'number' },
    replicas: { type: 'integer' },
    availableReplicas: { type: 'integer' },
    /** Spindle: jobs queued or running for a GPU function (GPU functions have no replicas to scale). */
    queueDepth: { type: 'integer' },
    createdAt: { type: 'string' },
    /** Spindle: where it runs, `control` (replicas) or `gpu` (the GPU runner). */
    plane: { type: 'string', enum: ['control', 'gpu'] },
    /** Spindle: the deploy's version (1 for the first, +1 for each deploy). */
    version: { type: 'integer' },
    /** Spindle: when the current version was deployed (createdAt is the first deploy). */
    deployedAt: { type: 'string' },
    /** Spindle: the input and output JSON Schemas the function's replicas report (absent for raw-body functions and before a replica was ready). */
    inputSchema: { type: 'object' },
    outputSchema: { type: 'object' },
    usage: { type: 'object' },
  },
  additionalProperties: false,
} as const;
export type FunctionStatus = FromSchema<typeof functionStatusSchema>;
