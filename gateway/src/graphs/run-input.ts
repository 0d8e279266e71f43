/** A run's input checked against its graph's `input` schema, with the validators the deploy-time check compiled. */
import { compileInputSchema, fieldName, GraphInvalidError, type GraphDefinition, type Validator } from '@spindle/schemas';
import { BadRequestError } from '../errors.ts';

/** Compiled input schemas by their text: the same schema in two graphs, or two versions, compiles once. */
const validators = new Map<string, Validator<unknown>>();
const MAX_VALIDATORS = 256;

function validatorFor(schema: object): Validator<unknown> {
  const key = JSON.stringify(schema);
  let validator = validators.get(key);
  if (!validator) {
    try {
      validator = compileInputSchema(schema);
    } catch (err) {
      // Stored before deploy-time compiling existed: say what to fix rather than fail with a 500.
      if (err instanceof GraphInvalidError) throw new BadRequestError(`the graph cannot be run: ${err.message}; deploy a fixed definition`, err);
      throw err;
    }
    if (validators.size >= MAX_VALIDATORS) validators.delete(validators.keys().next().value!);
    validators.set(key, validator);
  }
  return validator;
}

/**
 * Throws a 400 naming the field (`field "input.name" is required`) when `input` does not match the graph's
 * input schema; never a 500, whatever schema was stored. The input is within DOCUMENT_BOUNDS (runs route).
 */
export function checkRunInput(definition: GraphDefinition, input: unknown): void {
  if (!definition.input) return;
  const issue = validatorFor(definition.input).check(input);
  if (issue) throw new BadRequestError(`field "${fieldName(`/input${issue.path}`)}" ${issue.message}`);
}
