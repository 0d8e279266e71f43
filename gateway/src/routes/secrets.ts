/** `/system/secrets`: create, list (names only), update, remove. Values never leave the gateway. */
import type { FastifyPluginAsync } from 'fastify';
import { validateSecretRequest, type SecretRequest } from '@spindle/schemas';
import { NAMESPACE } from '@spindle/schemas';
import { BadRequestError } from '../errors.ts';
import type { SecretStore } from '../store/index.ts';
import { checkNamespace, validBody } from './validate.ts';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The secret's bytes: `value` (text) or `rawValue` (base64), exactly one of them. */
function secretValue(body: SecretRequest): Buffer {
  if (body.rawValue !== undefined && body.value !== undefined) throw new BadRequestError('fields "value" and "rawValue" are both set: send one');
  if (body.rawValue !== undefined) {
    if (!BASE64.test(body.rawValue)) throw new BadRequestError('field "rawValue" must be base64');
    return Buffer.from(body.rawValue, 'base64');
  }
  if (body.value !== undefined) return Buffer.from(body.value, 'utf8');
  throw new BadRequestError('field "value" is required (or "rawValue", base64)');
}

/** A secret request's body, in Spindle's one namespace. */
function secretBody(raw: unknown): SecretRequest {
  const body = validBody(validateSecretRequest, raw);
  checkNamespace(body.namespace);
  return body;
}

export function secretRoutes(secrets: SecretStore): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: { namespace?: string } }>('/system/secrets', async (req) => {
      checkNamespace(req.query.namespace);
      return (await secrets.list()).map((s) => ({ name: s.name, namespace: NAMESPACE }));
    });
    app.post('/system/secrets', async (req, reply) => {
      const body = secretBody(req.body);
      await secrets.create(body.name, secretValue(body));
      return reply.code(201).send({ name: body.name, namespace: NAMESPACE });
    });
    app.put('/system/secrets', async (req, reply) => {
      const body = secretBody(req.body);
      await secrets.update(body.name, secretValue(body));
      return reply.code(202).send({ name: body.name, namespace: NAMESPACE });
    });
    app.delete('/system/secrets', async (req, reply) => {
      const body = secretBody(req.body);
      await secrets.remove(body.name);
      return reply.code(202).send();
    });
  };
}
