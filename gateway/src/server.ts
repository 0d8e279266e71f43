/** Builds the gateway's fastify instance from already-built dependencies (see main.ts for the wiring). */
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { adminAuth } from './auth.ts';
import { unlessCallerLeft } from './caller.ts';
import type { Invoker } from './invoker.ts';
import { errorBody, renderError } from './render.ts';
import { BadRequestError, ClientClosedError, MethodNotAllowedError, NotFoundError } from './errors.ts';
import type { FunctionService } from './functions.ts';
import type { LogHub } from './logs.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { AsyncService } from './async/index.ts';
import { artifactRoutes } from './routes/artifacts.ts';
import { asyncRoutes } from './routes/async.ts';
import { publicArtifactRoutes } from './routes/public-artifacts.ts';
import { sessionRoutes } from './routes/session.ts';
import { statsRoutes } from './routes/stats.ts';
import { webRoutes } from './routes/web.ts';
import type { Sessions } from './session.ts';
import type { PrometheusStats } from './stats/prometheus.ts';
import type { WebApp } from './web/app.ts';
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
import { langgraphRoutes, type ThreadStates, type ThreadStore } from './langgraph/index.ts';
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
  /** Largest upload to `POST /artifacts` (default 50 MiB, `SPINDLE_MAX_ARTIFACT_BYTES`). */
  maxArtifactBytes?: number;
  /** How long a call waits for a starting replica before a 503. */
  readyWaitMs: number;
}

/** Graphs and runs (LangGraph executor, Postgres records, run events). */
export interface GraphDeps {
  executor: GraphExecutor;
  graphs: GraphStore;
  runs: RunStore;
  events: RunEvents;
  /** LangGraph Platform threads and the state read from checkpoints (gateway/src/langgraph/). */
  threads: ThreadStore;
  states: ThreadStates;
}

export interface GatewayDeps {
  graph: GraphDeps;
  logger: Logger;
  functions: FunctionService;
  /** The one call core (invoker.ts). */
  invoker: Invoker;
  metrics: GatewayMetrics;
  logs: LogHub;
  bundles: BundleStore;
  secrets: SecretStore;
  blobs: BlobStore;
  adminPassword: string;
  /** Web app sessions (cookie), accepted wherever the admin credentials are. */
  sessions: Sessions;
  /** The built web app served at `/ui`. */
  web: WebApp;
  /** Where `/system/stats` reads from when configured (PROMETHEUS_URL). */
  prometheus?: PrometheusStats;
  artifactsToken: string;
  limits: GatewayLimits;
  /** fastify's `trustProxy` (SPINDLE_TRUST_PROXY): whose X-Forwarded-* headers name the client. */
  trustProxy?: boolean | string;
  /** GPU functions (Redis stream + runner). */
  gpu?: GpuService;
  /** Async invocations (`/async-function/*`, status, dead letters); absent: those routes are not served. */
  async?: AsyncService;
}

/**
 * Query strings as flat string maps: a repeated key keeps its first value, as Go's `URL.Query().Get` reads it
 * in OpenFaaS. (fastify's default turns `?name=a&name=b` into an array, which no route expects: a route
 * calling a string method on it answered 500.)
 */
function parseQuery(qs: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [key, value] of new URLSearchParams(qs)) if (!(key in out)) out[key] = value;
  return out;
}

/** Methods some route serves (function calls pass any of them on); what a 405 lists in `Allow`. */
const SERVED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Answers `CONNECT` with a 405: node hands CONNECT to a 'connect' listener with the bare socket (no response
 * object) and, with none, destroys the socket without a status line.
 */
function refuseConnect(req: IncomingMessage, socket: Duplex): void {
  // The socket left node's HTTP machinery: without a listener a reset would be an uncaught 'error'.
  socket.on('error', () => socket.destroy());
  const e = new MethodNotAllowedError(req.method ?? 'CONNECT', SERVED_METHODS);
  const body = errorBody(renderError(e));
  const head = [`HTTP/1.1 405 Method Not Allowed`, `allow: ${e.headers.allow}`, 'content-type: application/json; charset=utf-8', `content-length: ${Buffer.byteLength(body)}`, 'connection: close'];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

/** A ready-to-listen gateway. */
export function buildGateway(deps: GatewayDeps): FastifyInstance {
  const invokeDeps = { functions: deps.functions, invoker: deps.invoker };
  const fast = fastInvoke(invokeDeps, deps.logger);
  const app = Fastify({
    // Calls of deployed functions go to the call core before fastify's routing (see fastInvoke).
    serverFactory: (handler) => {
      const server = createServer((req, res) => void (fast(req, res) || handler(req, res)));
      server.keepAliveTimeout = 65_000;
      // A caller that half-closes its socket after a complete request (`shutdown(SHUT_WR)`, `socket.end()`)
      // still reads the answer. Node's default ends our side of the socket on the caller's FIN, so every
      // answer not written in the same tick (a proxied call, an enqueue, a database write) was lost: an
      // async call was queued but its caller never learnt its id. With this, node marks the pending
      // response as the connection's last and closes after it (the "half_closed_clients" of squid).
      // (An undocumented but long-standing property of http.Server, absent from @types/node; the half-close
      // tests in tests/hostile.test.ts fail should node ever drop it.)
      Object.assign(server, { httpAllowHalfOpen: true });
      server.on('connect', refuseConnect);
      return server;
    },
    ...(deps.trustProxy !== undefined && { trustProxy: deps.trustProxy }),
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.limits.maxJsonBytes,
    keepAliveTimeout: 65_000,
    requestTimeout: 0,
    return503OnClosing: true,
    // A URL fastify cannot decode (bad percent-encoding) gets the same error shape as everything else.
    frameworkErrors: (err, _req, reply) => {
      const r = renderError(err.code === 'FST_ERR_BAD_URL' ? new BadRequestError(`the URL is not valid percent-encoding: ${err.message}`) : err);
      const raw = reply as unknown as FastifyReply;
      void raw.code(r.status).type('application/json; charset=utf-8').send(errorBody(r));
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200, querystringParser: parseQuery },
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    // A caller that left is not a server failure, whatever the error it caused looks like (ECONNRESET, aborted).
    const answered = unlessCallerLeft(req.raw, err);
    const left = answered instanceof ClientClosedError;
    const r = renderError(answered);
    if (left) req.log.debug({ err, url: req.url }, 'caller left before the answer');
    // 503 (a dependency that is down: no runner, no NATS, no ready replica) and 504 (a function past its
    // timeout) are conditions the answer names, not gateway faults: warn, as the sync invoke path does.
    else if (r.status === 503 || r.status === 504) req.log.warn({ err: err.message, url: req.url }, 'request failed');
    else if (r.status >= 500) req.log.error({ err, url: req.url }, 'request failed');
    if (r.headers) reply.headers(r.headers);
    return reply.code(r.status).type('application/json; charset=utf-8').send(errorBody(r));
  });
  app.setNotFoundHandler((req, reply) => {
    const r = renderError(new NotFoundError(`no route for ${req.method} ${req.url.split('?')[0].slice(0, 200)}`));
    reply.code(r.status).type('application/json; charset=utf-8').send(errorBody(r));
  });

  app.register(healthRoutes(deps.metrics));
  app.register(invokeRoutes(invokeDeps));
  app.register(artifactRoutes(deps.blobs, deps.artifactsToken, deps.limits.maxBodyBytes));
  if (deps.async) {
    const { queue, defaultMaxInflight } = deps.async;
    app.register(asyncRoutes({ queue, calls: deps.async.calls, functions: deps.functions, adminPassword: deps.adminPassword, sessions: deps.sessions, maxBodyBytes: deps.limits.maxBodyBytes, defaultMaxInflight }));
  }
  app.register(webRoutes(deps.web));
  app.register(sessionRoutes({ sessions: deps.sessions, adminPassword: deps.adminPassword }));
  app.register(async (system) => {
    const check = adminAuth(deps.adminPassword, deps.sessions);
    system.addHook('onRequest', async (req) => check(req.headers, req.method));
    system.register(functionRoutes(deps.functions));
    system.register(scaleRoutes(deps.functions));
    system.register(secretRoutes(deps.secrets));
    system.register(logRoutes(deps.functions, deps.logs));
    system.register(infoRoutes());
    system.register(runnerRoutes(deps.gpu));
    system.register(statsRoutes(deps.metrics, deps.prometheus));
    system.register(bundleRoutes(deps.bundles, deps.limits.maxBundleBytes));
    system.register(publicArtifactRoutes(deps.blobs, deps.limits.maxArtifactBytes ?? 50 * 1024 * 1024));
    system.register(graphRoutes(deps.graph.graphs, deps.graph.executor));
    system.register(runRoutes(deps.graph.executor, deps.graph.runs, deps.graph.events));
    system.register(langgraphRoutes(deps.graph));
  });
  return app;
}
