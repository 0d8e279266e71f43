/** Builds the gateway's fastify instance from already-built dependencies (see main.ts for the wiring). */
import { createServer } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { basicAuth } from './auth.ts';
import { SpindleError } from './errors.ts';
import type { FunctionService } from './functions.ts';
import type { LogHub } from './logs.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { Provider } from './provider/types.ts';
import type { AsyncService } from './async/index.ts';
import { artifactRoutes } from './routes/artifacts.ts';
import { asyncRoutes } from './routes/async.ts';
import { bundleRoutes } from './routes/bundles.ts';
import type { RunEvents } from './graphs/events.ts';
import type { GraphExecutor } from './graphs/executor.ts';
import type { GraphStore, RunStore } from './graphs/store.ts';
import { functionRoutes } from './routes/functions.ts';
import { graphRoutes } from './routes/graphs.ts';
import { healthRoutes, infoRoutes } from './routes/info.ts';
import { fastInvoke, invokeRoutes } from './routes/invoke.ts';
import { logRoutes } from './routes/logs.ts';
import { runnerRoutes } from './routes/runner.ts';
import type { GpuService } from './gpu/service.ts';
import { runRoutes } from './routes/runs.ts';
import { scaleRoutes } from './routes/scale.ts';
import { secretRoutes } from './routes/secrets.ts';
import type { BlobStore, BundleStore, SecretStore } from './store/index.ts';

/** Limits every gateway enforces. */
export interface GatewayLimits {
  /** Largest invocation body (default 32 MiB). */
  maxBodyBytes: number;
  /** Largest management API JSON body (default 1 MiB). */
  maxJsonBytes: number;
  /** Largest bundle upload (default 256 MiB). */
  maxBundleBytes: number;
  /** How long a call waits for a starting replica before a 503. */
  readyWaitMs: number;
}

/** Graphs and runs (LangGraph executor, Postgres records, run events). */
export interface GraphDeps {
  executor: GraphExecutor;
  graphs: GraphStore;
  runs: RunStore;
  events: RunEvents;
}

export interface GatewayDeps {
  graph: GraphDeps;
  logger: Logger;
  functions: FunctionService;
  provider: Provider;
  metrics: GatewayMetrics;
  logs: LogHub;
  bundles: BundleStore;
  secrets: SecretStore;
  blobs: BlobStore;
  adminPassword: string;
  artifactsToken: string;
  limits: GatewayLimits;
  /** GPU functions (Redis stream + runner). */
  gpu?: GpuService;
  /** Async invocations (`/async-function/*`, status, dead letters); absent: those routes are not served. */
  async?: AsyncService;
}

/** Maps fastify's own errors (body parsing, limits) onto the catalogue's shape. */
function render(err: FastifyError | SpindleError): { status: number; code: string; message: string; headers?: Record<string, string> } {
  if (err instanceof SpindleError) return { status: err.statusCode, code: err.code, message: err.message, headers: err.headers };
  const status = err.statusCode ?? 500;
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, code: 'SPINDLE_BODY_TOO_LARGE', message: err.message };
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, code: 'SPINDLE_UNSUPPORTED_MEDIA_TYPE', message: `${err.message}: send application/json` };
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { status: 400, code: 'SPINDLE_BAD_REQUEST', message: `request body is not valid JSON: ${err.message}` };
  }
  if (status >= 400 && status < 500) return { status, code: err.code ?? 'SPINDLE_BAD_REQUEST', message: err.message };
  return { status: 500, code: 'SPINDLE_INTERNAL', message: 'internal error; the gateway log has the details' };
}

/** A ready-to-listen gateway. */
export function buildGateway(deps: GatewayDeps): FastifyInstance {
  const invokeDeps = { ...deps, maxBodyBytes: deps.limits.maxBodyBytes, readyWaitMs: deps.limits.readyWaitMs };
  const fast = fastInvoke(invokeDeps, deps.logger);
  const app = Fastify({
    // Calls of deployed control functions are proxied before fastify's routing (see fastInvoke).
    serverFactory: (handler) => {
      const server = createServer((req, res) => void (fast(req, res) || handler(req, res)));
      server.keepAliveTimeout = 65_000;
      return server;
    },
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.limits.maxJsonBytes,
    keepAliveTimeout: 65_000,
    requestTimeout: 0,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const r = render(err);
    if (r.status >= 500) req.log.error({ err, url: req.url }, 'request failed');
    if (r.headers) reply.headers(r.headers);
    return reply.code(r.status).send({ error: { code: r.code, message: r.message } });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: { code: 'SPINDLE_NOT_FOUND', message: `no route for ${req.method} ${req.url.split('?')[0]}` } });
  });

  app.register(healthRoutes(deps.metrics));
  app.register(invokeRoutes(invokeDeps));
  app.register(artifactRoutes(deps.blobs, deps.artifactsToken, deps.limits.maxBodyBytes));
  if (deps.async) {
    const { queue, defaultMaxInflight } = deps.async;
    app.register(asyncRoutes({ queue, functions: deps.functions, adminPassword: deps.adminPassword, maxBodyBytes: deps.limits.maxBodyBytes, defaultMaxInflight }));
  }
  app.register(async (system) => {
    const check = basicAuth('admin', deps.adminPassword);
    system.addHook('onRequest', async (req) => check(req.headers.authorization));
    system.register(functionRoutes(deps.functions));
    system.register(scaleRoutes(deps.functions));
    system.register(secretRoutes(deps.secrets));
    system.register(logRoutes(deps.functions, deps.logs));
    system.register(infoRoutes());
    system.register(runnerRoutes(deps.gpu));
    system.register(bundleRoutes(deps.bundles, deps.limits.maxBundleBytes));
    system.register(graphRoutes(deps.graph.graphs, deps.graph.executor));
    system.register(runRoutes(deps.graph.executor, deps.graph.runs, deps.graph.events));
  });
  return app;
}
