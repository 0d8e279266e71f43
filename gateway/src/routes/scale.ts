/** `POST /system/scale-function/:name`: sets the replica count within the scaling labels. */
import type { FastifyPluginAsync } from 'fastify';
import { validateScaleRequest } from '@spindle/schemas';
import { BadRequestError } from '../errors.ts';
import type { FunctionService } from '../functions.ts';
import { checkNamespace, functionName, validBody } from './validate.ts';

export function scaleRoutes(functions: FunctionService): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Params: { name: string }; Querystring: { namespace?: string } }>('/system/scale-function/:name', async (req, reply) => {
      const name = functionName(req.params.name);
      checkNamespace(req.query.namespace);
      const body = validBody(validateScaleRequest, req.body);
      checkNamespace(body.namespace);
      if (body.serviceName && functionName(body.serviceName) !== name) {
        throw new BadRequestError(`field "serviceName" ("${body.serviceName}") does not match the function in the URL ("${name}")`);
      }
      const replicas = await functions.scale(name, body.replicas);
      return reply.code(202).send({ name, replicas });
    });
  };
}
