/** `/system/functions` and `/system/function/:name`: list, deploy, update, remove, describe. */
import type { FastifyPluginAsync } from 'fastify';
import { validateDeleteRequest, validateDeployRequest } from '@spindle/schemas';
import type { FunctionService } from '../functions.ts';
import { HISTORY_KEPT } from '../store/repositories.ts';
import { checkNamespace, functionName, validBody, wholeNumber } from './validate.ts';

/** Management routes for functions (auth is applied by the enclosing scope). */
export function functionRoutes(functions: FunctionService): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: { namespace?: string } }>('/system/functions', async (req) => {
      checkNamespace(req.query.namespace);
      return functions.list();
    });

    app.get<{ Params: { name: string }; Querystring: { namespace?: string } }>('/system/function/:name', async (req) => {
      checkNamespace(req.query.namespace);
      return functions.status(functionName(req.params.name));
    });

    app.get<{ Params: { name: string }; Querystring: { limit?: string } }>('/system/function/:name/history', async (req) => {
      const limit = wholeNumber(req.query, 'limit', 1, HISTORY_KEPT, 20);
      const versions = await functions.history(functionName(req.params.name), limit);
      return {
        items: versions.map(({ version, spec, createdAt }) => ({
          version,
          image: spec.image,
          deployedAt: createdAt.toISOString(),
          labels: spec.labels ?? {},
          annotations: spec.annotations ?? {},
          envVars: spec.envVars ?? {},
          // Names only: a deploy request never holds secret values.
          secrets: spec.secrets ?? [],
        })),
      };
    });

    // OpenFaaS: POST creates, PUT updates (404 when missing; faas-cli then retries with POST).
    for (const method of ['POST', 'PUT'] as const) {
      app.route({
        method,
        url: '/system/functions',
        handler: async (req, reply) => {
          const spec = validBody(validateDeployRequest, req.body);
          checkNamespace(spec.namespace);
          const record = await functions.deploy(spec, method === 'PUT' ? 'update' : 'upsert');
          return reply.code(202).send({ name: record.name, version: record.version, image: record.spec.image });
        },
      });
    }

    app.delete('/system/functions', async (req, reply) => {
      const body = validBody(validateDeleteRequest, req.body);
      checkNamespace(body.namespace);
      await functions.remove(functionName(body.functionName));
      return reply.code(202).send();
    });
  };
}
