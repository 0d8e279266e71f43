/** `HEAD/PUT /system/bundles/sha256:<hex>`: upload a function bundle once; deploys name it by digest. */
import type { FastifyPluginAsync } from 'fastify';
import { BadRequestError, NotFoundError } from '../errors.ts';
import type { BundleStore } from '../store/index.ts';

function digestOf(ref: string): string {
  const m = /^sha256:([a-f0-9]{64})$/.exec(ref);
  if (!m) throw new BadRequestError(`bundle reference "${ref}" is invalid: expected sha256:<64 lowercase hex digits>`);
  return m[1];
}

export function bundleRoutes(bundles: BundleStore, maxBundleBytes: number): FastifyPluginAsync {
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBundleBytes }, (_req, body, done) => done(null, body));

    app.head<{ Params: { ref: string } }>('/system/bundles/:ref', async (req, reply) => {
      const digest = digestOf(req.params.ref);
      if (!(await bundles.has(digest))) throw new NotFoundError(`bundle sha256:${digest} has not been uploaded`);
      return reply.code(200).send();
    });

    app.put<{ Params: { ref: string } }>('/system/bundles/:ref', { bodyLimit: maxBundleBytes }, async (req, reply) => {
      const digest = digestOf(req.params.ref);
      const body = req.body;
      if (!Buffer.isBuffer(body) || body.length === 0) throw new BadRequestError('request body must be the bundle bytes (application/octet-stream)');
      const existed = await bundles.has(digest);
      if (!existed) await bundles.put(digest, body);
      return reply.code(existed ? 200 : 201).send({ digest: `sha256:${digest}`, size: body.length });
    });
  };
}
