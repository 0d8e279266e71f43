/** `ANY /function/:name[/*]`: one call through the call core, streamed both ways. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError } from '../errors.ts';
import type { FunctionService } from '../functions.ts';
import type { CallLogger, Invoker } from '../invoker.ts';
import { functionName } from './validate.ts';

export interface InvokeDeps {
  functions: FunctionService;
  invoker: Invoker;
}

/** Splits `/function/name.openfaas-fn/rest?q` into the function name and the path the function sees. */
function target(url: string): { name: string; path: string } {
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  const rest = pathname.slice('/function/'.length);
  const slash = rest.indexOf('/');
  const raw = slash < 0 ? rest : rest.slice(0, slash);
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new BadRequestError(`function name "${raw.slice(0, 80)}" is not valid URL encoding`);
  }
  return { name: functionName(decoded), path: (slash < 0 ? '/' : rest.slice(slash)) + (q < 0 ? '' : url.slice(q)) };
}

/**
 * The hot path, ahead of fastify's routing (installed with `serverFactory`): a call to a deployed
 * function goes straight to the call core, skipping fastify's per-request work (request and reply
 * objects, hooks, body parsing), which costs a trivial function a noticeable share of its throughput.
 * Anything else (unknown or invalid names) returns false and takes the fastify route below, which
 * renders those cases.
 */
export function fastInvoke(deps: InvokeDeps, log: CallLogger): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith('/function/')) return false;
    let t: { name: string; path: string };
    try {
      t = target(url);
    } catch {
      return false;
    }
    const fn = deps.functions.lookup(t.name);
    if (!fn) return false;
    void deps.invoker.serve(req, res, fn, t.path, log);
    return true;
  };
}

/** The invoke routes, in a scope whose bodies are left unread so they stream to the function. */
export function invokeRoutes(deps: InvokeDeps): FastifyPluginAsync {
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, _payload, done) => done(null));

    async function invoke(request: FastifyRequest, reply: FastifyReply) {
      const { name, path } = target(request.raw.url ?? '');
      const fn = deps.functions.lookup(name);
      if (!fn) throw deps.functions.notLive(name);
      reply.hijack();
      await deps.invoker.serve(request.raw, reply.raw, fn, path, request.log);
    }

    app.all('/function/:name', invoke);
    app.all('/function/:name/*', invoke);
  };
}
