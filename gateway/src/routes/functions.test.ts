/**
 * `/system/functions`, `/system/function/NAME` and `/system/scale-function/NAME` through `app.inject()`:
 * deploy validation (400 naming the field), faas-cli's PUT-then-POST, describe, remove and scale. Functions
 * are deployed at zero replicas, so no process starts; tests/gateway.test.ts covers them with replicas.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectPlatform, type InjectedPlatform } from './inject-support.ts';

let p: InjectedPlatform;
let image: string;
beforeAll(async () => {
  p = await injectPlatform();
  image = await p.upload();
});
afterAll(() => p?.close());

const deploy = (json: unknown, method: 'POST' | 'PUT' = 'POST') => p.request({ method, url: '/system/functions', json });
const zero = { 'com.openfaas.scale.min': '0' };

async function expectError(res: Awaited<ReturnType<typeof deploy>>, status: number, message: RegExp | string): Promise<void> {
  expect(res.statusCode, res.body).toBe(status);
  const { error } = res.json();
  if (typeof message === 'string') expect(error.message).toBe(message);
  else expect(error.message).toMatch(message);
}

describe('deploy validation', () => {
  it('answers 400 naming the field', async () => {
    const unknownBundle = `bundle://sha256:${'b'.repeat(64)}`;
    const cases: Array<[unknown, RegExp]> = [
      [{ image }, /^field "service" is required/],
      [{ service: 'Bad_Name', image }, /field "service"/],
      [{ service: '../etc', image }, /field "service"/],
      [{ service: 'a'.repeat(64), image }, /field "service"/],
      [{ service: 'ok' }, /^field "image" is required/],
      [{ service: 'ok', image: 'ghcr.io/openfaas/figlet:latest' }, /^field "image" must name an uploaded bundle as bundle:\/\/sha256:/],
      [{ service: 'ok', image: 'bundle://sha256:ABC' }, /^field "image" must name an uploaded bundle/],
      [{ service: 'ok', image: unknownBundle }, /^field "image": the gateway has no bundle sha256:b{64}; upload it first/],
      [{ service: 'ok', image, envVars: { A: 1 } }, /field "envVars\.A"/],
      [{ service: 'ok', image, labels: { 'com.openfaas.scale.min': 'two' } }, /^field "labels\.com\.openfaas\.scale\.min" must be a whole number, got "two"/],
      [{ service: 'ok', image, labels: { 'com.openfaas.scale.min': '3', 'com.openfaas.scale.max': '2' } }, /^field "labels\.com\.openfaas\.scale\.max" \(2\) must be at least/],
      [{ service: 'ok', image, labels: zero, secrets: ['never-created'] }, /^field "secrets": .*"never-created"/],
    ];
    for (const [body, message] of cases) await expectError(await deploy(body), 400, message);
    // Nothing of it was stored.
    expect((await p.request({ method: 'GET', url: '/system/functions' })).json()).toEqual([]);
  });

  it('reads exec_timeout and com.openfaas.timeout as Go durations, refusing others naming the field', async () => {
    for (const [service, envVars, annotations, ms] of [
      ['t-go', { exec_timeout: '1m30s' }, {}, 90_000],
      ['t-seconds', { exec_timeout: '45' }, {}, 45_000],
      ['t-annotation', { exec_timeout: '10s' }, { 'com.openfaas.timeout': '500ms' }, 500],
    ] as const) {
      const res = await deploy({ service, image, labels: zero, envVars, annotations });
      expect(res.statusCode, res.body).toBe(202);
      expect(p.platform.functions.lookup(service)?.timeoutMs).toBe(ms);
    }
    await expectError(await deploy({ service: 't-bad', image, labels: zero, envVars: { exec_timeout: 'soon' } }), 400, 'field "envVars.exec_timeout" must be a duration like "30s", "1m30s" or "500ms", got "soon"');
    await expectError(await deploy({ service: 't-bad', image, labels: zero, annotations: { 'com.openfaas.timeout': '1 minute' } }), 400, /^field "annotations\.com\.openfaas\.timeout" must be a duration/);
    await expectError(await deploy({ service: 't-bad', image, labels: zero, envVars: { exec_timeout: '0s' } }), 400, 'field "envVars.exec_timeout" must be longer than zero');
    expect((await p.request({ method: 'GET', url: '/system/function/t-bad' })).statusCode).toBe(404);
  });

  it('refuses a namespace other than openfaas-fn with a 404, and accepts openfaas-fn', async () => {
    await expectError(await deploy({ service: 'elsewhere', image, labels: zero, namespace: 'other' }), 404, /namespace "other" does not exist/);
    expect((await deploy({ service: 'in-ns', image, labels: zero, namespace: 'openfaas-fn' })).statusCode).toBe(202);
    await expectError(await p.request({ method: 'GET', url: '/system/functions?namespace=other' }), 404, /namespace "other"/);
    expect((await p.request({ method: 'GET', url: '/system/functions?namespace=openfaas-fn' })).statusCode).toBe(200);
  });
});

describe('deploy, describe, remove', () => {
  it('goes like faas-cli: PUT answers 404 for a new function, POST creates it, PUT updates it', async () => {
    const spec = { service: 'faas-like', image, namespace: 'openfaas-fn', envProcess: '', labels: zero, annotations: {} };
    await expectError(await deploy(spec, 'PUT'), 404, /"faas-like" is not deployed: create it with POST/);
    const created = await deploy(spec, 'POST');
    expect([created.statusCode, created.json()]).toEqual([202, { name: 'faas-like', version: 1, image }]);
    const updated = await deploy({ ...spec, envVars: { GREETING: 'hi' } }, 'PUT');
    expect([updated.statusCode, updated.json().version]).toEqual([202, 2]);

    const described = await p.request({ method: 'GET', url: '/system/function/faas-like' });
    expect(described.statusCode).toBe(200);
    expect(described.json()).toMatchObject({ name: 'faas-like', image, namespace: 'openfaas-fn', envVars: { GREETING: 'hi' }, labels: zero, replicas: 0, availableReplicas: 0, invocationCount: 0 });
    expect(new Date(described.json().createdAt).getTime()).toBeGreaterThan(0);
    const listed = (await p.request({ method: 'GET', url: '/system/functions' })).json();
    expect(listed.find((f: { name: string }) => f.name === 'faas-like')).toEqual(described.json());

    expect((await p.request({ method: 'DELETE', url: '/system/functions', json: { functionName: 'faas-like.openfaas-fn' } })).statusCode).toBe(202);
    await expectError(await p.request({ method: 'GET', url: '/system/function/faas-like' }), 404, 'function "faas-like" is not deployed');
    await expectError(await p.request({ method: 'DELETE', url: '/system/functions', json: { functionName: 'faas-like' } }), 404, /"faas-like" is not deployed/);
  });

  it('checks delete bodies: the name is required and valid, the namespace is Spindle\'s', async () => {
    await expectError(await p.request({ method: 'DELETE', url: '/system/functions', json: {} }), 400, /^field "functionName" is required/);
    await expectError(await p.request({ method: 'DELETE', url: '/system/functions', json: { functionName: 'Bad_Name' } }), 400, /^function name "Bad_Name" is invalid/);
    await expectError(await p.request({ method: 'DELETE', url: '/system/functions', json: { functionName: 'in-ns', namespace: 'other' } }), 404, /namespace "other"/);
    await expectError(await p.request({ method: 'DELETE', url: '/system/functions' }), 400, 'request body must be a JSON object');
  });
});

describe('scale-function', () => {
  beforeAll(async () => {
    expect((await deploy({ service: 'scaled', image, labels: { ...zero, 'com.openfaas.scale.max': '3' } })).statusCode).toBe(202);
  });
  const scale = (name: string, json?: unknown) => p.request({ method: 'POST', url: `/system/scale-function/${name}`, json });

  it('checks the body: replicas a whole number from 0, serviceName matching the URL', async () => {
    await expectError(await scale('scaled'), 400, 'request body must be a JSON object');
    await expectError(await scale('scaled', {}), 400, /^field "replicas" is required/);
    await expectError(await scale('scaled', { replicas: -1 }), 400, 'field "replicas" must be >= 0');
    for (const replicas of ['2', 1.5, null, true]) await expectError(await scale('scaled', { replicas }), 400, /^field "replicas" must be /);
    await expectError(await scale('scaled', { serviceName: 'other', replicas: 0 }), 400, 'field "serviceName" ("other") does not match the function in the URL ("scaled")');
    await expectError(await scale('scaled', { serviceName: 'Bad_Name', replicas: 0 }), 400, /^function name "Bad_Name" is invalid/);
  });

  it('scales to zero, accepting serviceName with or without the namespace suffix', async () => {
    for (const body of [{ replicas: 0 }, { serviceName: 'scaled', replicas: 0 }, { serviceName: 'scaled.openfaas-fn', namespace: 'openfaas-fn', replicas: 0 }]) {
      const res = await scale('scaled', body);
      expect([res.statusCode, res.json()], JSON.stringify(body)).toEqual([202, { name: 'scaled', replicas: 0 }]);
    }
    await expectError(await scale('ghost', { replicas: 0 }), 404, 'function "ghost" is not deployed');
  });
});
