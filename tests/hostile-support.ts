/** What the hostile-input suite shares: a raw HTTP/1.1 client (half-close, CONNECT, partial bodies, unnormalised paths) and a seeded request generator. */
import { connect } from 'node:net';
import { mulberry32 } from '../functions/media/random.ts';

/** One request as written on the socket. */
export interface RawRequest {
  method: string;
  /** Sent as is: no normalisation of `../`, no escaping. */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** `socket.end()` right after the request: a half-close (FIN) with the request complete. */
  halfClose?: boolean;
  /** Gives up when no status line came within this many ms (default 15 s). */
  timeoutMs?: number;
}

/** What came back; `status` 0 when nothing did (`error` says why). */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Milliseconds to the status line. */
  ms: number;
  error?: string;
}

const STREAMING = /text\/event-stream|application\/x-ndjson/;

/** Sends one request on a fresh connection (`Connection: close`) and reads the answer until the server closes. */
export function rawRequest(port: number, req: RawRequest): Promise<RawResponse> {
  const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, connection: 'close', ...req.headers };
  if (body && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length' || h.toLowerCase() === 'transfer-encoding')) headers['content-length'] = String(body.length);
  const head = `${req.method} ${req.path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  const t0 = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let parsed: Omit<RawResponse, 'body'> | null = null;
    let settled = false;
    const done = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks);
      if (!parsed) parsed = parseHead(all, t0);
      const final = skipInterim(all);
      resolve(parsed ? { ...parsed, body: final.subarray(final.indexOf('\r\n\r\n') + 4), ...(error && !parsed.status ? { error } : {}) } : { status: 0, headers: {}, body: all, ms: Date.now() - t0, error: error ?? `closed after ${all.length} bytes without a status line` });
    };
    const timer = setTimeout(() => done(`no answer within ${req.timeoutMs ?? 15_000} ms`), req.timeoutMs ?? 15_000);
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head);
      if (body) socket.write(body);
      if (req.halfClose) socket.end();
    });
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (parsed) return;
      parsed = parseHead(Buffer.concat(chunks), t0);
      // A followed stream never ends by itself: its status line is the answer.
      if (parsed && STREAMING.test(parsed.headers['content-type'] ?? '')) setTimeout(() => done(), 200);
    });
    socket.on('error', (err) => done(err.message));
    socket.on('close', () => done());
  });
}

function parseHead(all: Buffer, t0: number): Omit<RawResponse, 'body'> | null {
  const data = skipInterim(all);
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = data.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) return null;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(m[1]), headers, ms: Date.now() - t0 };
}

/** `data` past any interim 1xx answers (`100 Continue`): the final answer is what counts. */
function skipInterim(data: Buffer): Buffer {
  while (/^HTTP\/1\.[01] 1\d\d/.test(data.subarray(0, 16).toString('latin1'))) {
    const end = data.indexOf('\r\n\r\n');
    if (end < 0) return Buffer.alloc(0);
    data = data.subarray(end + 4);
  }
  return data;
}

/** What the generator knows about the platform under test. */
export interface FuzzTargets {
  /** `Basic …` with the admin password. */
  auth: string;
  functions: string[];
  graphs: string[];
  callIds: string[];
  runIds: string[];
}

const deep = (n: number, open: string, close: string, leaf = '1') => open.repeat(n) + leaf + close.repeat(n);

/** Names and ids as an attacker writes them: traversal, encodings, NUL, overlong, unicode, foreign namespaces. */
const HOSTILE_NAMES = [
  '', '.', '..', '../echo', '..%2fecho', '%2e%2e', '%2e%2e%2fsystem%2ffunctions', '..%2F..%2Fetc%2Fpasswd', '....//....//etc/passwd',
  'echo%00', '%00', 'a%00b', 'echo.otherns', 'echo.openfaas-fn.x', 'echo.', '.echo', 'ECHO', 'Echo', 'echo%2Fx', 'echo%5c..%5c',
  'x'.repeat(64), 'x'.repeat(300), 'x'.repeat(5000), '%C3%A9cho', 'é', '%F0%9F%98%80', '%FF%FE', '%ZZ', '%', '%e', '*', '>', 'a.b', 'a b',
  '-echo', 'echo-', '0', '-1', 'null', 'undefined', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty',
  "';DROP TABLE x;--", '$(id)', '%24%7Bjndi%3Aldap%3A%2F%2Fx%7D', '{{7*7}}', `sha256:${'a'.repeat(64)}`, 'sha256:zz', `sha256:${'A'.repeat(64)}`,
];

/** Mapping templates that try to reach outside the run's scope. */
const TEMPLATES = ['{{ input.name }}', '{{ input.constructor.constructor }}', "{{ constructor.constructor('return process')() }}", '{{ input.__proto__ }}', '{{ nodes.__proto__.polluted }}', '{{ nodes.a.output }}', `{{ ${'a.'.repeat(2000)}b }}`, '{{', '}}{{', '{{ process.env }}', '{{ input[0] }}', '{{ input["x"] }}'];
const QUERY_VALUES = ['', '-1', '0', '1', '200', '201', '1e309', 'NaN', 'Infinity', '99999999999999999999', '1.5', 'abc', 'true', 'false', '%00', '%FF', 'x'.repeat(3000), '2024-13-45', '1970-01-01T00:00:00Z', '%2e%2e%2f', '[]', '{}'];
const QUERY_KEYS = ['limit', 'cursor', 'status', 'graph', 'name', 'tail', 'since', 'follow', 'wait', 'timeout', 'after', 'namespace', 'function', '__proto__', 'constructor'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'PUT', 'PATCH', 'DELETE', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH', 'FOO', 'get'];
const CONTENT_TYPES = ['application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'foo', '', 'application/*', 'application/json, text/plain', 'application/problem+json'];

/** Bodies that break parsers and validators. */
function hostileBody(r: () => number, pick: <T>(a: readonly T[]) => T, t: FuzzTargets): string | Buffer | undefined {
  const big = () => 'x'.repeat(1024 * 1024 + Math.floor(r() * 1024));
  const bodies: Array<() => string | Buffer | undefined> = [
    () => undefined,
    () => '',
    () => '{}',
    () => '[]',
    () => 'null',
    () => '"x"',
    () => '{',
    () => '{"a":}',
    () => '\u0000\u0001\u0002',
    () => Buffer.from(Array.from({ length: 64 }, () => Math.floor(r() * 256))),
    () => deep(10_000, '[', ']'),
    () => deep(100_000, '[', ']'),
    () => deep(10_000, '{"a":', '}'),
    () => JSON.stringify({ input: deep(5_000, '[', ']') }).replace(/"/g, '') ,
    () => `{"input":${deep(10_000, '[', ']')}}`,
    () => `{"nodes":{"a":{"function":"echo","input":${deep(10_000, '{"x":', '}')}}}}`,
    () => JSON.stringify({ input: big() }),
    () => JSON.stringify({ service: 'echo', image: big() }),
    () => big(),
    () => JSON.stringify({ service: pick(HOSTILE_NAMES), image: `bundle://sha256:${'a'.repeat(64)}` }),
    () => JSON.stringify({ service: 'fz', image: pick(['', 'bundle://', 'docker.io/x', `bundle://sha256:${'0'.repeat(64)}`, 'file:///etc/passwd']), envVars: { a: 1 }, labels: [] }),
    () => JSON.stringify({ service: 'fz', image: `bundle://sha256:${'0'.repeat(64)}`, labels: { 'com.openfaas.scale.min': pick(['-1', '1e9', 'x', '0']) }, limits: { memory: pick(['1Zi', '-5', '']) } }),
    // Never a deployed function: the suite checks they still answer at the end.
    () => JSON.stringify({ functionName: pick([...HOSTILE_NAMES, 'not-deployed']) }),
    () => JSON.stringify({ serviceName: pick([...HOSTILE_NAMES, ...t.functions]), replicas: pick([-1, 0, 1, 1e9, 1.5, 'two', null, Number.MAX_SAFE_INTEGER]) }),
    () => JSON.stringify({ name: pick(HOSTILE_NAMES), value: pick(['x', '', big().slice(0, 10_000)]), rawValue: pick(['!!!', 'AAAA', undefined]) }),
    () => JSON.stringify({ input: pick([null, 1, 'x', [], { name: pick(HOSTILE_NAMES) }, { name: 'ada' }]) }),
    () => JSON.stringify({ description: 'x', nodes: { a: { function: pick([...HOSTILE_NAMES, ...t.functions]), input: { x: '{{ input.x }}' } } } }),
    () => JSON.stringify({ nodes: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`n${i}`, { function: 'echo', input: {}, after: i ? [`n${i - 1}`] : [] }])) }),
    () => JSON.stringify({ nodes: { a: { function: 'echo', after: ['a'] } } }),
    () => JSON.stringify({ nodes: { a: { function: pick(['greet', ...HOSTILE_NAMES]), input: { name: pick(TEMPLATES) } } }, output: { x: pick(TEMPLATES) } }),
    () => JSON.stringify({ input: { name: pick(TEMPLATES) } }),
    () => '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"input":{"__proto__":{"x":1}}}',
    // biome-ignore lint/correctness/noPrecisionLoss: 1e309 overflows to Infinity (JSON null) on purpose; the text then gets the literal back
    () => JSON.stringify({ input: 1e309 }).replace('null', '1e309'),
    () => '{"a":1,"a":2,"input":"\\ud800"}',
  ];
  return pick(bodies)();
}

/** One random request over every route the gateway serves (and some it does not). */
export function fuzzRequest(r: () => number, t: FuzzTargets): RawRequest {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
  const chance = (p: number) => r() < p;
  const name = () => (chance(0.5) ? pick(t.functions) : pick(HOSTILE_NAMES));
  const graph = () => (chance(0.5) ? pick(t.graphs) : pick(HOSTILE_NAMES));
  const callId = () => (chance(0.4) && t.callIds.length ? pick(t.callIds) : pick(HOSTILE_NAMES));
  const runId = () => (chance(0.4) && t.runIds.length ? pick(t.runIds) : pick([...HOSTILE_NAMES, '00000000-0000-0000-0000-000000000000']));
  const rest = () => (chance(0.6) ? '' : pick(['/', '/sub/path', '/../../system/functions', '/%2e%2e/%2e%2e/etc/passwd', '/a%00b', '//x', `/${'y'.repeat(2000)}`]));
  const paths: Array<() => string> = [
    () => `/function/${name()}${rest()}`,
    () => `/function/${name()}${rest()}`,
    () => `/async-function/${name()}${rest()}`,
    () => `/async-function/status/${callId()}`,
    () => `/async-function/${callId()}`,
    () => '/system/async/dead-letters',
    () => `/system/async/dead-letters/${callId()}/redrive`,
    () => '/system/functions',
    () => `/system/function/${name()}`,
    () => `/system/scale-function/${name()}`,
    () => '/system/secrets',
    () => '/system/logs',
    () => `/system/bundles/${pick(HOSTILE_NAMES)}`,
    () => '/system/graphs',
    () => `/system/graphs/${graph()}`,
    () => `/graphs/${graph()}/runs`,
    () => '/runs',
    () => `/runs/${runId()}`,
    () => `/runs/${runId()}/events`,
    () => `/runs/${runId()}/cancel`,
    () => `/artifacts/${pick(HOSTILE_NAMES)}`,
    () => `/internal/artifacts/${pick(HOSTILE_NAMES)}${rest()}`,
    () => '/system/runner',
    () => '/system/info',
    () => '/system/namespaces',
    () => '/metrics',
    () => '/healthz',
    () => `/${pick(HOSTILE_NAMES)}`,
    () => pick(['*', '/..', '/%2e%2e/system/info', '//system//functions', '/system/../healthz', '/system/functions/', '/SYSTEM/FUNCTIONS', '/function', '/function/', '/async-function', '/async-function/', 'http://evil.example/healthz', '/healthz#x', `/healthz?${'q'.repeat(9000)}`]),
  ];
  let path = pick(paths)();
  if (chance(0.35)) {
    const n = 1 + Math.floor(r() * 3);
    const q = Array.from({ length: n }, () => `${pick(QUERY_KEYS)}=${pick(QUERY_VALUES)}`);
    // Repeated keys arrive as arrays.
    if (chance(0.2)) q.push(q[0]);
    path += (path.includes('?') ? '&' : '?') + q.join('&');
  }
  const method = pick(METHODS);
  const headers: Record<string, string> = {};
  const authChoice = r();
  if (authChoice < 0.5) headers.authorization = t.auth;
  else if (authChoice < 0.85) {
    headers.authorization = pick([
      'Basic', 'Basic ', 'Bearer', 'Bearer ', 'Basic !!!', `Basic ${Buffer.from('admin:wrong').toString('base64')}`, `Basic ${Buffer.from('root:x').toString('base64')}`,
      `Basic ${Buffer.from(`admin:${'p'.repeat(20_000)}`).toString('base64')}`, `Basic ${Buffer.from('admin').toString('base64')}`, `Basic ${Buffer.from(':').toString('base64')}`, 'Digest x', `basic ${t.auth.slice(6)}==`,
    ]);
  }
  const body = ['GET', 'HEAD'].includes(method) && chance(0.8) ? undefined : hostileBody(r, pick, t);
  if (body !== undefined && chance(0.9)) headers['content-type'] = pick(CONTENT_TYPES);
  if (chance(0.1)) headers['x-call-id'] = pick([...HOSTILE_NAMES, `fuzz-${Math.floor(r() * 1e9)}`]);
  if (chance(0.1)) headers['idempotency-key'] = pick([...HOSTILE_NAMES.slice(0, 20), `fuzz-${Math.floor(r() * 1e9)}`, '"quoted-key"', 'k'.repeat(300)]);
  if (chance(0.1)) headers['x-callback-url'] = pick(['http://127.0.0.1:1/cb', 'ftp://x', 'x', 'http://[::1', 'http://169.254.169.254/latest/meta-data']);
  if (chance(0.05)) headers['last-event-id'] = pick(QUERY_VALUES);
  if (chance(0.05)) headers.range = pick(['bytes=0-', 'bytes=-1', 'bytes=9999999999-', 'x']);
  if (chance(0.05)) headers.expect = pick(['100-continue', 'x']);
  // Framing attacks: a broken or truncated chunked body, Content-Length beside Transfer-Encoding, a lying
  // length, oversized headers. A body promised but never sent is ended with a FIN (a caller that keeps the
  // socket open is waited for: requestTimeout is 0, see the report of issue 8), which must be a 400.
  const framing = r();
  if (framing < 0.02) return { method: 'POST', path, headers: { ...headers, 'transfer-encoding': 'chunked' }, body: pick(['zz\r\nxx\r\n0\r\n\r\n', '5\r\nab\r\n0\r\n\r\n', 'ffffffffffffffff\r\nx\r\n']), halfClose: true };
  if (framing < 0.03) return { method: 'POST', path, headers: { ...headers, 'transfer-encoding': 'chunked', 'content-length': '3' }, body: '3\r\nabc\r\n0\r\n\r\n' };
  if (framing < 0.04) return { method: 'POST', path, headers: { ...headers, 'content-length': pick(['-1', '1e3', 'abc', '99999999999999999999', '0x10', '100']) }, body: 'abc', halfClose: true };
  if (framing < 0.05) return { method, path, headers: { ...headers, 'x-big': 'a'.repeat(20_000) }, body };
  if (framing < 0.06) return { method, path, headers: { ...headers, 'x-forwarded-for': '127.0.0.1', 'x-forwarded-host': 'evil.example', 'x-original-url': '/system/functions', 'x-http-method-override': 'DELETE' }, body };
  return { method, path, headers, body };
}

/** mulberry32 (functions/media/random.ts): a seeded PRNG, so a failing run can be replayed from its seed. */
export const prng = mulberry32;
