/** @spindle/runtime: what a function author imports. */
export { defineFunction } from './define.ts';
export { HttpError, InvalidInputError, InvalidOutputError } from './errors.ts';
export type {
  Artifacts,
  AnyFunctionDefinition,
  FunctionContext,
  FunctionDefinition,
  JSONSchema,
  RawRequest,
  RawResponse,
} from './types.ts';
