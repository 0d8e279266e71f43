/**
 * The one place errors become answers: `{"error": {"code", "message"}}` with the error's status and
 * headers. fastify's error handler (server.ts) and the paths that write raw responses (the invoke
 * route, the call core) both render through here.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyError } from 'fastify';
import { SpindleError } from './errors.ts';

/** An error as the answer a caller gets. */
export interface RenderedError {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

/** Maps catalogue errors and fastify's own (body parsing, limits) onto one shape; anything else is a 500 that tells nothing. */
export function renderError(err: FastifyError | SpindleError | Error): RenderedError {
  if (err instanceof SpindleError) return { status: err.statusCode, code: err.code, message: err.message, headers: err.headers };
  const f = err as FastifyError;
  const status = f.statusCode ?? 500;
  if (f.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, code: 'SPINDLE_BODY_TOO_LARGE', message: f.message };
  if (f.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, code: 'SPINDLE_UNSUPPORTED_MEDIA_TYPE', message: `${f.message}: send application/json` };
  if (err instanceof SyntaxError || f.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || f.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { status: 400, code: 'SPINDLE_BAD_REQUEST', message: `request body is not valid JSON: ${f.message}` };
  }
  if (status >= 400 && status < 500) return { status, code: f.code ?? 'SPINDLE_BAD_REQUEST', message: f.message };
  return { status: 500, code: 'SPINDLE_INTERNAL', message: 'internal error; the gateway log has the details' };
}

/** The JSON body of a rendered error. */
export function errorBody(r: RenderedError): string {
  return JSON.stringify({ error: { code: r.code, message: r.message } });
}

/** Renders an error straight onto a raw response (paths that bypass fastify's reply); a started answer is cut instead. */
export function writeError(res: ServerResponse, err: SpindleError, callId?: string): void {
  if (res.headersSent) return void res.destroy();
  if (res.destroyed) return;
  const r = renderError(err);
  const payload = errorBody(r);
  res.writeHead(r.status, {
    ...r.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...(callId && { 'x-call-id': callId }),
  });
  res.end(payload);
}
