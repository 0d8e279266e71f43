/** `GET /system/info` (faas-cli version), `GET /system/namespaces`, `GET /healthz`, `GET /metrics`. */
import { arch } from 'node:os';
import type { FastifyPluginAsync } from 'fastify';
import { NAMESPACE } from '../functions.ts';
import type { GatewayMetrics } from '../metrics.ts';

const VERSION = '0.1.0';

/** Routes under auth. */
export function infoRoutes(): FastifyPluginAsync {
  return async (app) => {
    app.get('/system/info', async () => ({
      provider: { provider: 'spindle', orchestration: 'local', version: { release: VERSION, sha: 'dev' } },
      version: { release: VERSION, sha: 'dev', commit_message: '' },
      arch: arch() === 'x64' ? 'x86_64' : arch(),
    }));
    app.get('/system/namespaces', async () => [NAMESPACE]);
  };
}

/** Public routes: health and Prometheus metrics. */
export function healthRoutes(metrics: GatewayMetrics): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  };
}
