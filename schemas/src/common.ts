/** Building blocks shared by several schemas. */

/** A DNS-1123 label: what Kubernetes and OpenFaaS accept as a function name. */
export const dnsLabel = {
  type: 'string',
  minLength: 1,
  maxLength: 63,
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
} as const;

export const stringMap = {
  type: 'object',
  additionalProperties: { type: 'string' },
} as const;

/** Environment values in stack.yml may be written as numbers or booleans; they reach the process as strings. */
export const envMap = {
  type: 'object',
  additionalProperties: { type: ['string', 'number', 'boolean'] },
} as const;

export const resources = {
  type: 'object',
  properties: {
    memory: { type: 'string' },
    cpu: { type: 'string' },
  },
  additionalProperties: false,
} as const;
