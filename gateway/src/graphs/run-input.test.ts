import type { GraphDefinition } from '@spindle/schemas';
import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../errors.ts';
import { checkRunInput } from './run-input.ts';

const graph = (input: unknown): GraphDefinition => ({ input: input as Record<string, unknown>, nodes: { a: { function: 'f' } } });

function failure(definition: GraphDefinition, input: unknown): BadRequestError {
  try {
    checkRunInput(definition, input);
  } catch (err) {
    if (err instanceof BadRequestError) return err;
    throw err;
  }
  throw new Error('expected a 400');
}

describe('checkRunInput', () => {
  it('names the field of the run input that is wrong', () => {
    const typed = graph({ type: 'object', required: ['name'], properties: { name: { type: 'string' }, n: { type: 'integer' } } });
    expect(() => checkRunInput(typed, { name: 'Ada' })).not.toThrow();
    expect(failure(typed, {}).message).toBe('field "input.name" is required');
    expect(failure(typed, { name: 'Ada', n: 'x' }).message).toBe('field "input.n" must be integer');
    expect(failure(typed, null).message).toBe('field "input" must be object');
  });

  it('fills in the schema\'s defaults for the fields the input leaves out', () => {
    const withDefaults = graph({ type: 'object', properties: { voice: { type: 'string', default: 'slt' }, upscale: { type: 'boolean', default: false } } });
    const input: Record<string, unknown> = { voice: 'awb' };
    checkRunInput(withDefaults, input);
    expect(input).toEqual({ voice: 'awb', upscale: false });
  });

  it('checks two graphs (or versions) whose schemas share an $id', () => {
    const a = graph({ $id: 'spindle-test/shared', type: 'object', required: ['a'] });
    const b = graph({ $id: 'spindle-test/shared', type: 'object', required: ['b'] });
    expect(failure(a, {}).message).toBe('field "input.a" is required');
    expect(failure(b, {}).message).toBe('field "input.b" is required');
  });

  it('is a 400, not a 500, for stored schemas that cannot be compiled or loop', () => {
    expect(failure(graph({ type: 'nope' }), {}).message).toMatch(/^the graph cannot be run: field "input" is not a JSON Schema Spindle can use/);
    const loop = graph({ type: 'object', properties: { a: { allOf: [{ $ref: '#/properties/a' }] } } });
    expect(() => checkRunInput(loop, {})).not.toThrow();
    expect(failure(loop, { a: 1 }).message).toBe('field "input" cannot be checked: the graph\'s input schema refers to itself without end');
  });
});
