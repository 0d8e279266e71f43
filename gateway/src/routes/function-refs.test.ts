/**
 * Every route that takes a function name reads it alike (validate.ts functionName → parseFunctionRef):
 * `NAME` and `NAME.openfaas-fn` name the same function, another namespace is a 404, a malformed name a
 * 400. Checked through `app.inject()` across /system/function, /system/scale-function, /system/logs,
 * DELETE /system/functions, /function and /async-function.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { injectPlatform, type InjectedPlatform } from './inject-support.ts';

let p: InjectedPlatform;
beforeAll(async () => {
  p = await injectPlatform();
  for (const name of ['named', 'called']) expect((await p.deploy(name)).statusCode).toBe(202);
});
afterAll(() => p?.close());

/** One request per route that takes a function reference; `ref` as a client would send it (URL-encoded where it sits in a URL). */
const routes: Record<string, (ref: string) => Promise<LightMyRequestResponse>> = {
  'GET /system/function': (ref) => p.request({ method: 'GET', url: `/system/function/${ref}` }),
  'POST /system/scale-function': (ref) => p.request({ method: 'POST', url: `/system/scale-function/${ref}`, json: { replicas: 0 } }),
  'GET /system/logs': (ref) => p.request({ method: 'GET', url: `/system/logs?name=${ref}&tail=0` }),
  'DELETE /system/functions': (ref) => p.request({ method: 'DELETE', url: '/system/functions', json: { functionName: decodeURIComponent(ref) } }),
  'POST /function': (ref) => p.request({ method: 'POST', url: `/function/${ref}`, payload: 'x', auth: false }),
  'POST /async-function': (ref) => p.request({ method: 'POST', url: `/async-function/${ref}`, payload: 'x', auth: false }),
};
const names = Object.keys(routes);

/** Status and error message of each route for `ref`. */
async function answers(ref: string, only = names): Promise<Record<string, [number, string | undefined]>> {
  const out: Record<string, [number, string | undefined]> = {};
  for (const route of only) {
    const res = await routes[route](ref);
    out[route] = [res.statusCode, res.statusCode >= 400 ? res.json().error.message : undefined];
  }
  return out;
}

/** The same answer from every route. */
const every = (status: number, message: string | RegExp) => Object.fromEntries(names.map((r) => [r, [status, message instanceof RegExp ? expect.stringMatching(message) : message]]));

describe('function references', () => {
  it('answers 400 with one message for a malformed name, on every route', async () => {
    for (const [ref, shown] of [
      ['Bad_Name', 'Bad_Name'],
      ['a%20b', 'a b'],
      ['-lead', '-lead'],
      ['.openfaas-fn', ''],
      ['x'.repeat(64), 'x'.repeat(64)],
    ]) {
      expect(await answers(ref), ref).toEqual(every(400, `function name ${JSON.stringify(shown)} is invalid: use lowercase letters, digits and "-" (a DNS-1123 label, at most 63 characters)`));
    }
  });

  it('answers 404 naming the namespace for NAME.<other namespace>, deployed or not, on every route', async () => {
    for (const ref of ['named.other', 'ghost.other', 'named.openfaas-fn.x', 'named.OPENFAAS-FN']) {
      const ns = ref.slice(ref.indexOf('.') + 1);
      expect(await answers(ref), ref).toEqual(every(404, `namespace ${JSON.stringify(ns)} does not exist: Spindle has one namespace, openfaas-fn`));
    }
  });

  it('answers 404 for a function that is not deployed, with or without the suffix, on every route', async () => {
    for (const ref of ['ghost', 'ghost.openfaas-fn']) expect(await answers(ref), ref).toEqual(every(404, /^function "ghost" is not deployed/));
  });

  it('finds a deployed function by NAME and NAME.openfaas-fn on the management routes without starting it', async () => {
    const management = ['GET /system/function', 'POST /system/scale-function', 'GET /system/logs'];
    const ok = { 'GET /system/function': [200, undefined], 'POST /system/scale-function': [202, undefined], 'GET /system/logs': [200, undefined] };
    for (const ref of ['named', 'named.openfaas-fn']) expect(await answers(ref, management), ref).toEqual(ok);
    expect((await routes['GET /system/function']('named.openfaas-fn')).json()).toMatchObject({ name: 'named', namespace: 'openfaas-fn', replicas: 0 });
    expect((await routes['POST /system/scale-function']('named.openfaas-fn')).json()).toEqual({ name: 'named', replicas: 0 });
    const logs = await routes['GET /system/logs']('named.openfaas-fn');
    expect([logs.statusCode, logs.headers['content-type'], logs.body]).toEqual([200, 'application/x-ndjson', '']);
    expect(p.platform.provider.status('named')).toMatchObject({ replicas: 0 });
  });

  it('queues /async-function/NAME.openfaas-fn for the bare name (202 + X-Call-Id; no worker runs here)', async () => {
    for (const ref of ['named', 'named.openfaas-fn']) {
      const res = await routes['POST /async-function'](`${ref}/sub/path?q=1`);
      expect(res.statusCode, res.body).toBe(202);
      const view = await p.request({ method: 'GET', url: `/async-function/status/${res.headers['x-call-id']}` });
      expect(view.json()).toMatchObject({ function: 'named', state: 'queued' });
    }
  });

  it('calls /function/NAME.openfaas-fn (one tiny replica starts), and deletes by NAME.openfaas-fn', async () => {
    const res = await p.request({ method: 'GET', url: '/function/called.openfaas-fn/sub/path?q=1', auth: false });
    expect([res.statusCode, res.body]).toEqual([200, 'hello from /sub/path?q=1']);
    expect(res.headers['x-call-id']).toMatch(/^[0-9a-f-]{36}$/);
    const removed = await routes['DELETE /system/functions']('called.openfaas-fn');
    expect(removed.statusCode).toBe(202);
    expect(p.platform.functions.lookup('called')).toBeUndefined();
  });
});

describe('namespaces and encodings everywhere', () => {
  it('scale-function answers 404 for another namespace in the body or the query, like deploy and delete', async () => {
    const body = await p.request({ method: 'POST', url: '/system/scale-function/named', json: { replicas: 0, namespace: 'other' } });
    const query = await p.request({ method: 'POST', url: '/system/scale-function/named?namespace=other', json: { replicas: 0 } });
    for (const res of [body, query]) expect([res.statusCode, res.json().error.message]).toEqual([404, 'namespace "other" does not exist: Spindle has one namespace, openfaas-fn']);
  });

  it('a graph node naming NAME.openfaas-fn finds NAME; another namespace is refused naming the node', async () => {
    const ok = await p.request({ method: 'PUT', url: '/system/graphs/suffixed', json: { nodes: { a: { function: 'named.openfaas-fn' } } } });
    expect(ok.statusCode, ok.body).toBeLessThan(300);
    const other = await p.request({ method: 'PUT', url: '/system/graphs/elsewhere', json: { nodes: { a: { function: 'named.other' } } } });
    expect(other.statusCode).toBe(400);
    expect(other.json().error.message).toMatch(/node "a".*function.*namespace "other" does not exist/);
  });

  it('a URL that is not valid percent-encoding gets the usual error shape (400)', async () => {
    for (const url of ['/function/%E0%A4%A', '/async-function/%E0%A4%A', '/system/function/%E0%A4%A']) {
      const res = await p.request({ method: 'POST', url, payload: 'x' });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error, url).toMatchObject({ code: 'SPINDLE_BAD_REQUEST', message: expect.stringContaining('percent-encoding') });
    }
  });

  it('GET /system/logs?name=NAME&namespace=<other> answers 404 like GET /system/function/NAME?namespace=<other>', async () => {
    for (const url of ['/system/logs?name=named&namespace=other&tail=0', '/system/function/named?namespace=other']) {
      const res = await p.request({ method: 'GET', url });
      expect([res.statusCode, res.json().error.message], url).toEqual([404, 'namespace "other" does not exist: Spindle has one namespace, openfaas-fn']);
    }
    expect((await p.request({ method: 'GET', url: '/system/logs?name=named&namespace=openfaas-fn&tail=0' })).statusCode).toBe(200);
  });
});
