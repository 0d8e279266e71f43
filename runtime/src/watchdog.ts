/**
 * The replica watchdog: serves one function over HTTP. Every bundle's entry point calls `serve`, so a
 * replica is a single `node bundle.mjs` process (fast cold start, nothing else to install).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
// The subpath keeps the platform's compiled validators out of every replica bundle.
import { checkJsonBounds, DOCUMENT_BOUNDS } from '@spindle/schemas/bounds';
import { parseDuration } from '@spindle/schemas/contracts';
import { makeContext, type ReplicaEnv } from './context.ts';
import { ajv, LazyLogger, quickInfo } from './deferred.ts';
import { HttpError, InvalidInputError, InvalidOutputError } from './errors.ts';
import { ReplicaMetrics } from './metrics.ts';
import { isRawResponse, isWebResponse, sendJson, sendRaw, sendWebResponse } from './respond.ts';
import type { AnyFunctionDefinition, RawRequest } from './types.ts';

/** Options for `serve`; every field defaults from the environment the gateway sets. */
export interface ServeOptions {
  port?: number;
  host?: string;
  maxBodyBytes?: number;
}

function fieldOf(err: { instancePath: string; keyword: string; params: Record<string, unknown> }): string {
  let path = err.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (err.keyword === 'required') path = path ? `${path}.${err.params.missingProperty}` : String(err.params.missingProperty);
  if (err.keyword === 'additionalProperties') path = path ? `${path}.${err.params.additionalProperty}` : String(err.params.additionalProperty);
  return path;
}

function schemaChecker(schema: object | undefined, make: (msg: string, field: string) => HttpError) {
  if (!schema) return null;
  const Ajv = ajv();
  const validate = new Ajv({ allErrors: false, strict: false, useDefaults: true }).compile(schema);
  return (value: unknown) => {
    if (validate(value)) return;
    const err = validate.errors![0];
    const field = fieldOf(err);
    const what = err.keyword === 'additionalProperties' ? 'is not allowed' : err.keyword === 'required' ? 'is required' : (err.message ?? 'is invalid');
    throw make(field ? `field "${field}" ${what}` : `body ${what}`, field);
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, `request body is larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The replica's timeout from OpenFaaS's `exec_timeout` (a Go duration, or seconds); a malformed value stops the replica with a message, never a silent default. */
export function execTimeout(value: string | undefined, fallbackMs = 60_000): number {
  if (value === undefined || value.trim() === '') return fallbackMs;
  const ms = parseDuration(value);
  if (ms === null || ms <= 0) throw new Error(`exec_timeout ${JSON.stringify(value.slice(0, 64))} is not a duration like "30s" or "1m30s"`);
  return ms;
}

/** The definition's input and output JSON Schemas as the replica reports them at ready: null when absent or over 64 KiB. */
export function reportableSchemas(definition: AnyFunctionDefinition): { input: object | null; output: object | null } {
  const small = (schema: unknown) => (schema && typeof schema === 'object' && JSON.stringify(schema).length <= 65_536 ? (schema as object) : null);
  return { input: small(definition.input), output: small(definition.output) };
}

/** Starts the replica's HTTP server and resolves once it listens. Health at `/_/health`, readiness at `/_/ready`. */
export async function serve(definition: AnyFunctionDefinition, options: ServeOptions = {}): Promise<void> {
  const env: ReplicaEnv = {
    name: process.env.SPINDLE_FUNCTION_NAME ?? 'function',
    secretsDir: process.env.SPINDLE_SECRETS_DIR,
    artifactsUrl: process.env.SPINDLE_ARTIFACTS_URL,
    artifactsToken: process.env.SPINDLE_ARTIFACTS_TOKEN,
  };
  const base = { fn: env.name, replica: process.env.SPINDLE_REPLICA_ID ?? String(process.pid) };
  // pino loads on the first line a handler or an error writes, not at start-up (see deferred.ts).
  const logger = new LazyLogger(base);
  const maxBody = options.maxBodyBytes ?? Number(process.env.SPINDLE_MAX_BODY_BYTES ?? 32 * 1024 * 1024);
  const timeoutMs = execTimeout(process.env.exec_timeout);
  const checkInput = schemaChecker(definition.input as object | undefined, (m, f) => new InvalidInputError(m, f));
  const checkOutput = schemaChecker(definition.output as object | undefined, (m, f) => new InvalidOutputError(`output ${m}`, f));
  const isJson = Boolean(definition.input || definition.output);
  const metrics = new ReplicaMetrics();
  let draining = false;

  async function invoke(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://replica');
    const callId = (req.headers['x-call-id'] as string | undefined) ?? globalThis.crypto.randomUUID();
    const contentType = req.headers['content-type'] ?? 'application/octet-stream';
    const request = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, contentType };
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    res.on('close', () => {
      clearTimeout(timer);
      if (!res.writableFinished) abort.abort(new Error('caller went away'));
    });
    const body = await readBody(req, maxBody);
    const ctx = makeContext(env, logger, callId, request, abort.signal);
    let input: unknown;
    if (definition.input) {
      if (body.length === 0) throw new InvalidInputError('request body is empty: this function expects JSON matching its input schema');
      try {
        input = JSON.parse(body.toString('utf8'));
      } catch (err) {
        throw new InvalidInputError(`request body is not valid JSON: ${(err as Error).message}`);
      }
      // AJV recurses as deep as the input goes for recursive schemas: the platform's depth bound first.
      // Size is left to the body limit: large arrays (samples, embeddings) are normal function inputs.
      const deep = checkJsonBounds(input, { maxDepth: DOCUMENT_BOUNDS.maxDepth, maxKeys: Infinity });
      if (deep) {
        const field = deep.path.slice(1).replace(/~1/g, '/').replace(/~0/g, '~');
        throw new InvalidInputError(field ? `field "${field}" ${deep.message}` : `request body ${deep.message}`, field || undefined);
      }
      checkInput!(input);
    } else {
      input = { ...request, body } satisfies RawRequest;
    }
    const result = await definition.handle(input, ctx);
    if (isWebResponse(result)) return sendWebResponse(res, result);
    if (isJson) {
      checkOutput?.(result);
      return sendJson(res, 200, result);
    }
    if (isRawResponse(result)) return sendRaw(res, result, 'application/octet-stream');
    if (typeof result === 'string' || result instanceof Uint8Array) return sendRaw(res, { body: result }, 'application/octet-stream');
    if (result === undefined) return sendRaw(res, { status: 204 }, 'application/octet-stream');
    return sendJson(res, 200, result);
  }

  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/_/')) {
      if (url === '/_/health') return void res.end('ok');
      if (url === '/_/ready') {
        res.statusCode = draining ? 503 : 200;
        return void res.end(draining ? 'draining' : 'ready');
      }
      if (url === '/_/metrics') {
        res.setHeader('content-type', 'text/plain; version=0.0.4');
        return void res.end(metrics.render(env.name));
      }
    }
    const started = process.hrtime.bigint();
    metrics.inflight++;
    res.on('close', () => {
      metrics.inflight--;
      metrics.observe(res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    });
    invoke(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.statusCode : 500;
      const code = err instanceof HttpError ? err.code : 'SPINDLE_FUNCTION_ERROR';
      const field = err instanceof HttpError ? err.field : undefined;
      if (status >= 500) logger.get().error({ err }, 'handler failed');
      if (res.headersSent) return void res.destroy(err as Error);
      sendJson(res, status, { error: { code, message: (err as Error).message ?? String(err), ...(field ? { field } : {}) } });
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  const port = options.port ?? Number(process.env.PORT ?? 0);
  const host = options.host ?? process.env.HOST ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  quickInfo(base, { port: address.port }, 'listening');
  // The gateway shows the schemas (function status, the web app's Invoke form); a huge one is left out.
  process.send?.({ type: 'ready', port: address.port, schemas: reportableSchemas(definition) });

  // Drain on SIGTERM: stop taking new work, finish what is in flight, then exit.
  process.once('SIGTERM', () => {
    draining = true;
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), timeoutMs + 1000).unref();
  });
  process.once('disconnect', () => process.exit(0));
}
