/** HTTP client for the gateway's OpenFaaS-compatible API (global fetch, basic auth on /system routes). */
import { Readable } from 'node:stream';
import type { DeployRequest, FunctionStatus } from '@spindle/schemas';
import { AuthError, GatewayError, GatewayUnreachableError } from './errors.ts';
import { bodyChunks, follow, type Reconnect } from './follow.ts';

/** One log line as `GET /system/logs` streams it. */
export interface LogEntry {
  name: string;
  namespace?: string;
  instance: string;
  timestamp: string;
  text: string;
  /** Where a follow resumes after this line (`LogsQuery.after`); absent from gateways that predate it. */
  cursor?: string;
}

export interface SecretInfo {
  name: string;
  namespace?: string;
}

/** A secret's value: text, or bytes as base64 (`rawValue`). */
export type SecretValue = { value: string } | { rawValue: string };

export interface LogsQuery {
  name: string;
  follow?: boolean;
  tail?: number;
  /** RFC 3339 timestamp. */
  since?: string;
  /** Only lines after the one with this cursor (a follow resuming after a dropped connection). */
  after?: string;
  signal?: AbortSignal;
}

export interface InvokeOptions {
  method?: string;
  headers?: Record<string, string>;
  query?: Array<[string, string]>;
  body?: Uint8Array | string;
  signal?: AbortSignal;
}

export interface GatewayClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  credentials?: { user: string; password: string };
  fetch?: typeof fetch;
}

// fetch's types want ArrayBuffer-backed views; Node's Buffers are typed as ArrayBufferLike-backed.
type FetchBody = Uint8Array<ArrayBuffer> | string | undefined;

interface RequestOptions {
  json?: unknown;
  body?: Uint8Array;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Statuses returned to the caller instead of thrown. */
  allow?: number[];
  /** A whole fetch init (a streamed body); the credentials are added to its headers. */
  init?: RequestInit & { duplex?: 'half' };
}

/**
 * Talks to one gateway.
 * @example
 * const client = new GatewayClient({ url: 'http://127.0.0.1:8080', credentials: { user: 'admin', password } });
 * for (const fn of await client.listFunctions()) console.log(fn.name, fn.replicas);
 */
export class GatewayClient {
  readonly url: string;
  readonly #auth: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(opts: GatewayClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.#auth = opts.credentials
      ? `Basic ${Buffer.from(`${opts.credentials.user}:${opts.credentials.password}`).toString('base64')}`
      : undefined;
    this.#fetch = opts.fetch ?? globalThis.fetch;
  }

  /** True when the gateway already stores the bundle with this `sha256:<hex>` digest. */
  async hasBundle(digest: string): Promise<boolean> {
    const res = await this.#request('HEAD', `/system/bundles/${digest}`, { allow: [404] });
    return res.status !== 404;
  }

  /** Uploads bundle bytes under their digest. */
  async uploadBundle(digest: string, bytes: Uint8Array): Promise<{ digest: string; size: number }> {
    const res = await this.#request('PUT', `/system/bundles/${digest}`, {
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    return (await res.json()) as { digest: string; size: number };
  }

  /** Deploys like faas-cli: update with PUT, create with POST when the function does not exist yet. */
  async deployFunction(request: DeployRequest): Promise<'updated' | 'created'> {
    const res = await this.#request('PUT', '/system/functions', { json: request, allow: [404] });
    if (res.status !== 404) return 'updated';
    await res.body?.cancel();
    await this.#request('POST', '/system/functions', { json: request });
    return 'created';
  }

  /** Every deployed function. */
  async listFunctions(): Promise<FunctionStatus[]> {
    return (await (await this.#request('GET', '/system/functions')).json()) as FunctionStatus[];
  }

  /** One deployed function. */
  async getFunction(name: string): Promise<FunctionStatus> {
    return (await (await this.#request('GET', `/system/function/${encodeURIComponent(name)}`)).json()) as FunctionStatus;
  }

  /** Removes a deployed function. */
  async removeFunction(name: string): Promise<void> {
    await this.#drain(await this.#request('DELETE', '/system/functions', { json: { functionName: name } }));
  }

  /** Sets a function's desired replica count. */
  async scaleFunction(name: string, replicas: number): Promise<void> {
    await this.#drain(
      await this.#request('POST', `/system/scale-function/${encodeURIComponent(name)}`, {
        json: { serviceName: name, replicas },
      }),
    );
  }

  /** Log lines of a function; with `follow` the iteration lasts until the signal aborts or the gateway closes. */
  async *logs(query: LogsQuery): AsyncGenerator<LogEntry> {
    const params = new URLSearchParams({ name: query.name, follow: String(Boolean(query.follow)) });
    if (query.tail !== undefined) params.set('tail', String(query.tail));
    if (query.since) params.set('since', query.since);
    if (query.after) params.set('after', query.after);
    const res = await this.#request('GET', `/system/logs?${params}`, { signal: query.signal });
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of bodyChunks(res.body, `the logs of ${query.name}`)) {
      buffered += decoder.decode(chunk, { stream: true });
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) yield JSON.parse(line) as LogEntry;
      }
    }
    if (buffered.trim()) yield JSON.parse(buffered) as LogEntry;
  }

  /**
   * A function's log lines, followed until the signal aborts: a dropped connection (or a gateway that restarts)
   * is reopened after the last line seen (`after=<cursor>`), so each line comes once. `tail` and `since` apply
   * to the first connection.
   * @example for await (const line of client.followLogs({ name: 'echo', tail: 10 })) console.log(line.text);
   */
  followLogs(query: Omit<LogsQuery, 'follow' | 'after'>, onReconnect?: (r: Reconnect) => void): AsyncGenerator<LogEntry> {
    return follow((after) => this.logs(after ? { name: query.name, follow: true, after, signal: query.signal } : { ...query, follow: true }), {
      what: `the logs of ${query.name}`,
      cursorOf: (entry) => entry.cursor,
      // A follow has no end of its own: a stream the gateway ended (it shut down) is reopened.
      finished: () => false,
      onReconnect,
      signal: query.signal,
    });
  }

  /** Secret names (never values). */
  async listSecrets(): Promise<SecretInfo[]> {
    return (await (await this.#request('GET', '/system/secrets')).json()) as SecretInfo[];
  }

  /** Creates a secret; 409 when it exists. */
  async createSecret(name: string, value: SecretValue): Promise<void> {
    await this.#drain(await this.#request('POST', '/system/secrets', { json: { name, ...value } }));
  }

  /** Replaces a secret's value. */
  async updateSecret(name: string, value: SecretValue): Promise<void> {
    await this.#drain(await this.#request('PUT', '/system/secrets', { json: { name, ...value } }));
  }

  /** Deletes a secret. */
  async removeSecret(name: string): Promise<void> {
    await this.#drain(await this.#request('DELETE', '/system/secrets', { json: { name } }));
  }

  /** `GET /system/info`: provider name, version, orchestration. */
  async info(): Promise<unknown> {
    return (await this.#request('GET', '/system/info')).json();
  }

  /** Calls `/function/NAME` (public route, no credentials); the caller reads the response as it streams. */
  async invoke(name: string, opts: InvokeOptions = {}): Promise<Response> {
    const params = new URLSearchParams(opts.query ?? []).toString();
    const url = `${this.url}/function/${encodeURIComponent(name)}${params ? `?${params}` : ''}`;
    const method = (opts.method ?? 'POST').toUpperCase();
    const body = method === 'GET' || method === 'HEAD' ? undefined : opts.body;
    try {
      return await this.#fetch(url, { method, headers: opts.headers, body: body as FetchBody, signal: opts.signal });
    } catch (err) {
      throw this.#networkError(err);
    }
  }

  /** Any management API call: an optional JSON body in, the Response out; non-2xx (outside `allow`) throws as for every call. */
  async call(method: string, path: string, json?: unknown, opts: { signal?: AbortSignal; allow?: number[]; headers?: Record<string, string> } = {}): Promise<Response> {
    return this.#request(method, path, { ...opts, json });
  }

  /** Queues a call on `/async-function/NAME` (public route); resolves with the call id of the 202. */
  async invokeAsync(name: string, opts: InvokeOptions & { callbackUrl?: string } = {}): Promise<string> {
    const params = new URLSearchParams(opts.query ?? []).toString();
    const path = `/async-function/${encodeURIComponent(name)}${params ? `?${params}` : ''}`;
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.callbackUrl) headers['x-callback-url'] = opts.callbackUrl;
    const method = (opts.method ?? 'POST').toUpperCase();
    let res: Response;
    try {
      res = await this.#fetch(`${this.url}${path}`, { method, headers, body: opts.body as FetchBody, signal: opts.signal });
    } catch (err) {
      throw this.#networkError(err);
    }
    const text = await res.text().catch(() => '');
    if (res.status !== 202) throw gatewayError(res.status, text, `${method} /async-function/${name}`);
    return res.headers.get('x-call-id') ?? '';
  }

  /**
   * Uploads `body` (`size` bytes) to `POST /artifacts`, streamed; returns the key the gateway gave it.
   * @example const { key } = await client.uploadArtifact(createReadStream('me.jpg'), size, 'image/jpeg');
   */
  async uploadArtifact(body: AsyncIterable<Uint8Array>, size: number, contentType: string, signal?: AbortSignal): Promise<{ key: string; size: number; contentType: string }> {
    const stream = Readable.toWeb(Readable.from(body)) as unknown as ReadableStream<Uint8Array<ArrayBuffer>>;
    // duplex: fetch's requirement for a streamed body; content-length lets the gateway refuse a file over its limit at once.
    const init: RequestInit & { duplex: 'half' } = { method: 'POST', body: stream, duplex: 'half', signal, headers: { 'content-type': contentType, 'content-length': String(size) } };
    const res = await this.#request('POST', '/artifacts', { init });
    return (await res.json()) as { key: string; size: number; contentType: string };
  }

  /** `GET /artifacts/KEY`: the response, its body not yet read (404 is thrown as a GatewayError). */
  downloadArtifact(key: string, signal?: AbortSignal): Promise<Response> {
    return this.#request('GET', `/artifacts/${key.split('/').map(encodeURIComponent).join('/')}`, { signal });
  }

  async #request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': 'spindle-cli', ...opts.headers };
    if (this.#auth) headers.authorization = this.#auth;
    let body: Uint8Array | string | undefined = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      const init = opts.init ? { ...opts.init, headers: { ...headers, ...(opts.init.headers as Record<string, string>) } } : { method, headers, body: body as FetchBody, signal: opts.signal };
      res = await this.#fetch(`${this.url}${path}`, init as RequestInit);
    } catch (err) {
      throw this.#networkError(err);
    }
    if (res.ok || opts.allow?.includes(res.status)) return res;
    const text = await res.text().catch(() => '');
    if (res.status === 401) throw new AuthError(this.url, this.#auth !== undefined);
    throw gatewayError(res.status, text, `${method} ${path.split('?')[0]}`);
  }

  async #drain(res: Response): Promise<void> {
    await res.arrayBuffer().catch(() => undefined);
  }

  #networkError(err: unknown): unknown {
    if (err instanceof Error && err.name === 'AbortError') return err;
    return new GatewayUnreachableError(this.url, err);
  }
}

/** The gateway's `{ error: { code, message } }`, or the raw body when it is not that shape. */
function gatewayError(status: number, text: string, what: string): GatewayError {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } | string; message?: string };
    if (typeof parsed.error === 'object' && parsed.error?.message) return new GatewayError(status, parsed.error.message, parsed.error.code);
    if (typeof parsed.error === 'string') return new GatewayError(status, parsed.error);
    if (parsed.message) return new GatewayError(status, parsed.message);
  } catch {
    // Not JSON: fall through to the raw text.
  }
  const detail = text.trim().slice(0, 500);
  return new GatewayError(status, `${what} failed with HTTP ${status}${detail ? `: ${detail}` : ''}`);
}
