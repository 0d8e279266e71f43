/**
 * `/internal/artifacts/*`: where replicas put and get artifact bytes. Replicas authenticate with the
 * per-gateway token they were started with; they never hold object-store credentials.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { NotFoundError, UnauthorizedError } from '../errors.ts';
import type { BlobStore } from '../store/index.ts';

export function artifactRoutes(blobs: BlobStore, token: string, maxBytes: number): FastifyPluginAsync {
  const expected = Buffer.from(`Bearer ${token}`);
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, done) => done(null, body));
    app.addHook('onRequest', async (req) => {
      const given = Buffer.from(req.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new UnauthorizedError('artifact API needs the replica token');
    });
    app.put<{ Params: { '*': string } }>('/internal/artifacts/*', { bodyLimit: maxBytes }, async (req, reply) => {
      const key = req.params['*'];
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      await blobs.put(`artifacts/${key}`, body);
      return reply.code(201).send({ key, size: body.length });
    });
    app.get<{ Params: { '*': string } }>('/internal/artifacts/*', async (req, reply) => {
      const key = req.params['*'];
      const bytes = await blobs.get(`artifacts/${key}`);
      if (!bytes) throw new NotFoundError(`artifact "${key}" does not exist`);
      return reply.type('application/octet-stream').send(bytes);
    });
  };
}
