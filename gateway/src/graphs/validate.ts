/** Graph definitions as the gateway checks them: the shared checks of @spindle/schemas, failing as 400s. */
import { checkGraphDefinition, GraphInvalidError, planGraph as plan, type GraphDefinition, type PlannedGraph } from '@spindle/schemas';
import { BadRequestError } from '../errors.ts';

export type { PlannedGraph } from '@spindle/schemas';

function asBadRequest<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof GraphInvalidError) throw new BadRequestError(err.message, err);
    throw err;
  }
}

/** Checks a definition and works out its dependencies; `hasFunction` says whether a function is deployed. 400 naming the node and field. */
export function planGraph(definition: GraphDefinition, hasFunction: (name: string) => boolean): PlannedGraph {
  return asBadRequest(() => plan(definition, hasFunction));
}

/** A `PUT /system/graphs/:name` body, checked whole (bounds, schema, input schema compiled, plan) before it is stored; 400 naming the field. */
export function validGraph(body: unknown, hasFunction?: (name: string) => boolean): GraphDefinition {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('request body must be a JSON object');
  return asBadRequest(() => checkGraphDefinition(body, hasFunction)).definition;
}
