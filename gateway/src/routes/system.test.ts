/**
 * What every route shares, through `app.inject()` on a platform that never listens: basic auth on the
 * management API, the 404 shape of unknown routes, JSON body limits (413) and content types (415),
 * `/system/info`, `/system/namespaces` and `/healthz`. (CONNECT's 405 happens before fastify, on the
 * socket: tests/hostile.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, injectPlatform, type InjectedPlatform } from './inject-support.ts';

let p: InjectedPlatform;
beforeAll(async () => {
  p = await injectPlatform();
});
afterAll(() => p?.close());

describe('basic auth on the management API', () => {
  it('answers 401 with a Basic challenge without credentials, with an empty Bearer and with a wrong password', async () => {
    for (const authorization of [undefined, 'Bearer ', 'Bearer x', 'Basic ', basic('nope'), 'Basic !!!']) {
      const res = await p.request({ method: 'GET', url: '/system/functions', auth: false, headers: authorization === undefined ? {} : { authorization } });
      expect(res.statusCode, String(authorization)).toBe(401);
      expect(res.headers['www-authenticate']).toContain('Basic');
      expect(res.json().error.code).toBe('SPINDLE_UNAUTHORIZED');
    }
    expect((await p.request({ method: 'GET', url: '/system/functions' })).statusCode).toBe(200);
  });

  it('guards every management route, and leaves /healthz and /metrics open', async () => {
    for (const [method, url] of [
      ['GET', '/system/info'],
      ['GET', '/system/secrets'],
      ['GET', '/system/graphs'],
      ['GET', '/runs'],
      ['POST', '/system/scale-function/x'],
      ['GET', '/system/logs?name=x'],
      ['GET', '/system/runner'],
      ['GET', '/async-function/status/x'],
      ['GET', '/system/async/dead-letters'],
    ] as const) {
      expect((await p.request({ method, url, auth: false })).statusCode, `${method} ${url}`).toBe(401);
    }
    const health = await p.request({ method: 'GET', url: '/healthz', auth: false });
    expect([health.statusCode, health.json()]).toEqual([200, { status: 'ok' }]);
    const metrics = await p.request({ method: 'GET', url: '/metrics', auth: false });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('gateway_service_count');
  });
});

describe('system info', () => {
  it('describes the provider as faas-cli version reads it, with one namespace', async () => {
    const info = await p.request({ method: 'GET', url: '/system/info' });
    expect(info.statusCode).toBe(200);
    expect(info.json()).toMatchObject({ provider: { provider: 'spindle', orchestration: 'local' }, version: { release: expect.stringMatching(/^\d+\.\d+\.\d+/) } });
    expect(info.json().arch).toBeTruthy();
    const ns = await p.request({ method: 'GET', url: '/system/namespaces' });
    expect([ns.statusCode, ns.json()]).toEqual([200, ['openfaas-fn']]);
  });
});

describe('unknown routes', () => {
  it('answer 404 with the JSON error shape, naming method and path but not the query', async () => {
    for (const [method, url] of [
      ['GET', '/nope?secret=1'],
      ['POST', '/system/nope'],
      ['DELETE', '/system/info'],
    ] as const) {
      const res = await p.request({ method, url });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.json()).toEqual({ error: { code: 'SPINDLE_NOT_FOUND', message: `no route for ${method} ${url.split('?')[0]}` } });
    }
  });
});

describe('JSON bodies', () => {
  const routes = [
    ['POST', '/system/functions'],
    ['PUT', '/system/functions'],
    ['POST', '/system/secrets'],
    ['POST', '/system/scale-function/x'],
    ['PUT', '/system/graphs/g'],
    ['POST', '/graphs/g/runs'],
  ] as const;

  it('answers 413 past 1 MiB on every management route', async () => {
    const payload = JSON.stringify({ pad: 'z'.repeat(1024 * 1024) });
    for (const [method, url] of routes) {
      const res = await p.request({ method, url, payload, headers: { 'content-type': 'application/json' } });
      expect(res.statusCode, `${method} ${url}`).toBe(413);
      expect(res.json().error.code).toBe('SPINDLE_BODY_TOO_LARGE');
    }
    // Just under the limit the body is read, and the route answers for itself.
    const under = await p.request({ method: 'POST', url: '/system/functions', json: { service: 'x', pad: 'z'.repeat(1024 * 1024 - 100) } });
    expect(under.statusCode).toBe(400);
    expect(under.json().error.message).toMatch(/image/);
  });

  it('answers 415 for a content type that is not JSON', async () => {
    for (const [method, url] of routes) {
      for (const type of ['application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const res = await p.request({ method, url, payload: 'a=1', headers: { 'content-type': type } });
        expect(res.statusCode, `${method} ${url} ${type}`).toBe(415);
        expect(res.json().error).toMatchObject({ code: 'SPINDLE_UNSUPPORTED_MEDIA_TYPE', message: expect.stringContaining('application/json') });
      }
    }
  });

  it('answers 400 for malformed JSON and for a body that is not an object', async () => {
    const broken = await p.request({ method: 'POST', url: '/system/functions', payload: '{"service":', headers: { 'content-type': 'application/json' } });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.message).toMatch(/not valid JSON/);
    for (const payload of ['[]', '"x"', '3', 'null']) {
      const res = await p.request({ method: 'POST', url: '/system/functions', payload, headers: { 'content-type': 'application/json' } });
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().error.message).toMatch(/^request body /);
    }
    const none = await p.request({ method: 'POST', url: '/system/functions' });
    expect([none.statusCode, none.json().error.message]).toEqual([400, 'request body must be a JSON object']);
  });
});
