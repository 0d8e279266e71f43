/**
 * The one typed client of the gateway's API. Every page calls the gateway through here: same origin, the
 * session cookie goes along, mutating requests carry the session's CSRF token, a 401 sends the person to the
 * login page (and back afterwards), and every failure becomes an ApiError whose message a person can act on.
 */
import type { FunctionInfo, FunctionVersion, Graph, LogLine, Run, RunDetail, RunnerStatus, Session, Stats, AsyncCall, DeadLetter } from './types.ts';

/** A failed API call: `message` is written for a person; `code` is the gateway's stable code when it sent one. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

/** Remembers the session's CSRF token (sent as `X-CSRF-Token` on every mutating request). */
export function setCsrf(token: string | null): void {
  csrfToken = token;
}

/** What to do on a 401 (the layout sends the person to the login page). */
export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

/** Turns a non-2xx answer into a sentence: the gateway's own message when it sent one, else what the status means. */
export async function errorFrom(res: Response, what: string): Promise<ApiError> {
  let code: string | undefined;
  let detail = '';
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } | string; message?: string };
    if (typeof body.error === 'object' && body.error) {
      code = body.error.code;
      detail = body.error.message ?? '';
    } else detail = (typeof body.error === 'string' ? body.error : body.message) ?? '';
  } catch {
    detail = text.slice(0, 300);
  }
  const hint =
    res.status === 401
      ? 'Your session has ended: sign in again.'
      : res.status === 403
        ? 'The gateway refused this request (it may need a fresh page: reload and try again).'
        : res.status === 404
          ? 'It does not exist (any more).'
          : res.status === 413
            ? 'The request is too large for the gateway.'
            : res.status === 429
              ? 'The gateway is busy: try again in a moment.'
              : res.status === 503
                ? 'A service the gateway needs is not available right now: try again shortly.'
                : res.status >= 500
                  ? 'The gateway failed to answer.'
                  : 'The request was refused.';
  return new ApiError(`${what} failed (${res.status}): ${detail || hint}`, res.status, code);
}

/** A fetch that never throws a bare TypeError: a gateway that cannot be reached is said in words. */
async function send(url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, { credentials: 'same-origin', ...init });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(`${what} failed: the gateway could not be reached (is \`npm start\` running?)`, 0);
  }
}

type Query = Record<string, string | number | boolean | undefined | null>;

/** `path?query` with empty values left out. */
export function withQuery(path: string, query: Query = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

/** One JSON API call. */
async function call<T>(method: string, path: string, what: string, opts: { body?: unknown; query?: Query; signal?: AbortSignal; quiet401?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await send(withQuery(path, opts.query), { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: opts.signal }, what);
  if (res.status === 401 && !opts.quiet401) onUnauthorized?.();
  if (!res.ok) throw await errorFrom(res, what);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

const enc = encodeURIComponent;

/** Every call the app makes, by the API's nouns. */
export const api = {
  session: () => call<Session>('GET', '/system/session', 'Reading the session', { quiet401: true }),
  login: (password: string) => call<void>('POST', '/system/login', 'Signing in', { body: { password }, quiet401: true }),
  logout: () => call<void>('POST', '/system/logout', 'Signing out'),

  stats: (window = 900, step = 10, fn?: string) => call<Stats>('GET', '/system/stats', 'Reading the statistics', { query: { window, step, function: fn } }),

  functions: () => call<FunctionInfo[]>('GET', '/system/functions', 'Listing functions'),
  fn: (name: string) => call<FunctionInfo>('GET', `/system/function/${enc(name)}`, `Reading function "${name}"`),
  history: (name: string) => call<{ items: FunctionVersion[] }>('GET', `/system/function/${enc(name)}/history`, `Reading the history of "${name}"`),
  scale: (name: string, replicas: number) => call<void>('POST', `/system/scale-function/${enc(name)}`, `Scaling "${name}"`, { body: { serviceName: name, replicas } }),
  remove: (name: string) => call<void>('DELETE', '/system/functions', `Removing "${name}"`, { body: { functionName: name } }),

  graphs: () => call<Graph[]>('GET', '/system/graphs', 'Listing graphs'),
  graph: (name: string) => call<Graph>('GET', `/system/graphs/${enc(name)}`, `Reading graph "${name}"`),
  startRun: (graph: string, input: unknown) => call<{ runId: string; status: string }>('POST', `/graphs/${enc(graph)}/runs`, `Starting a run of "${graph}"`, { body: { input } }),
  runs: (query: { graph?: string; status?: string; since?: string; until?: string; limit?: number; cursor?: string }) =>
    call<{ runs: Run[]; next: string | null }>('GET', '/runs', 'Listing runs', { query }),
  run: (id: string) => call<RunDetail>('GET', `/runs/${enc(id)}`, `Reading run ${id}`),
  cancelRun: (id: string) => call<Run>('POST', `/runs/${enc(id)}/cancel`, `Cancelling run ${id}`),

  runner: () => call<RunnerStatus>('GET', '/system/runner', 'Reading the GPU runner'),
  asyncCalls: (query: { function?: string; status?: string; limit?: number; cursor?: string } = {}) =>
    call<{ items: AsyncCall[]; next: number | null }>('GET', '/system/async/calls', 'Listing async calls', { query }),
  deadLetters: (limit = 100) => call<DeadLetter[]>('GET', '/system/async/dead-letters', 'Listing dead letters', { query: { limit } }),
  redrive: (callId: string) => call<unknown>('POST', `/system/async/dead-letters/${enc(callId)}/redrive`, `Redriving call ${callId}`),

  secrets: () => call<Array<{ name: string }>>('GET', '/system/secrets', 'Listing secrets'),
  createSecret: (name: string, value: string) => call<void>('POST', '/system/secrets', `Creating secret "${name}"`, { body: { name, value } }),
  updateSecret: (name: string, value: string) => call<void>('PUT', '/system/secrets', `Updating secret "${name}"`, { body: { name, value } }),
  removeSecret: (name: string) => call<void>('DELETE', '/system/secrets', `Removing secret "${name}"`, { body: { name } }),

  /** Uploads bytes as an artifact; resolves to its key. */
  async uploadArtifact(file: Blob): Promise<string> {
    const headers: Record<string, string> = { 'content-type': file.type || 'application/octet-stream' };
    if (csrfToken) headers['x-csrf-token'] = csrfToken;
    const res = await send('/artifacts', { method: 'POST', headers, body: file }, 'Uploading the file');
    if (!res.ok) throw await errorFrom(res, 'Uploading the file');
    return ((await res.json()) as { key: string }).key;
  },
};

/** What the Invoke page sends. */
export interface InvokeRequest {
  fn: string;
  method: string;
  path: string;
  query: Array<[string, string]>;
  headers: Array<[string, string]>;
  body?: BodyInit;
  contentType?: string;
  async?: boolean;
  callbackUrl?: string;
  signal?: AbortSignal;
}

/** Calls a function (public, as in OpenFaaS) and hands back the raw Response so its body can be streamed. */
export async function invoke(req: InvokeRequest): Promise<{ response: Response; started: number }> {
  const headers = new Headers();
  for (const [k, v] of req.headers) if (k.trim()) headers.set(k.trim(), v);
  if (req.contentType && !headers.has('content-type')) headers.set('content-type', req.contentType);
  if (req.async && req.callbackUrl) headers.set('x-callback-url', req.callbackUrl);
  const suffix = req.path && req.path !== '/' ? `/${req.path.replace(/^\/+/, '')}` : '';
  const qs = new URLSearchParams(req.query.filter(([k]) => k.trim()));
  const url = `/${req.async ? 'async-function' : 'function'}/${enc(req.fn)}${suffix}${qs.size ? `?${qs}` : ''}`;
  const hasBody = !['GET', 'HEAD'].includes(req.method);
  const started = performance.now();
  const response = await send(url, { method: req.method, headers, body: hasBody ? req.body : undefined, signal: req.signal, credentials: 'omit' }, `Calling "${req.fn}"`);
  return { response, started };
}

/** Follows a function's log lines as they are written (SSE, resumed with Last-Event-ID by the browser). */
export function logsUrl(name: string, tail = 50): string {
  return withQuery('/system/logs', { name, follow: true, tail });
}

/** The SSE stream of a run's events. */
export function runEventsUrl(id: string): string {
  return `/runs/${enc(id)}/events`;
}

/** An artifact's download URL. */
export function artifactUrl(key: string): string {
  return `/artifacts/${key.split('/').map(enc).join('/')}`;
}

export type { LogLine };
