/** `/system/secrets`: create, list (names only), update, remove. Values never leave the gateway. */
import type { FastifyPluginAsync } from 'fastify';
import { validateSecretRequest, type SecretRequest } from '@spindle/schemas';
import { BadRequestError } from '../errors.ts';
import { NAMESPACE } from '../functions.ts';
import type { SecretStore } from '../store/index.ts';
import { validBody } from './validate.ts';

function secretValue(body: SecretRequest): Buffer {
  if (body.rawValue !== undefined) return Buffer.from(body.rawValue, 'base64');
  if (body.value !== undefined) return Buffer.from(body.value, 'utf8');
  throw new BadRequestError('field "value" is required (or "rawValue", base64)');
}

export function secretRoutes(secrets: SecretStore): FastifyPluginAsync {
  return async (app) => {
    app.get('/system/secrets', async () => (await secrets.list()).map((s) => ({ name: s.name, namespace: NAMESPACE })));
    app.post('/system/secrets', async (req, reply) => {
      const body = validBody(validateSecretRequest, req.body);
      await secrets.create(body.name, secretValue(body));
      return reply.code(201).send({ name: body.name, namespace: NAMESPACE });
    });
    app.put('/system/secrets', async (req, reply) => {
      const body = validBody(validateSecretRequest, req.body);
      await secrets.update(body.name, secretValue(body));
      return reply.code(202).send({ name: body.name, namespace: NAMESPACE });
    });
    app.delete('/system/secrets', async (req, reply) => {
      const body = validBody(validateSecretRequest, req.body);
      await secrets.remove(body.name);
      return reply.code(202).send();
    });
  };
}
