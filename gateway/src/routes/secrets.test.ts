/**
 * `/system/secrets` through `app.inject()`: create, list, update, remove, and the rule that values never
 * leave the gateway (lists and function descriptions carry names only). Replicas that read secrets:
 * tests/security.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectPlatform, type InjectedPlatform } from './inject-support.ts';

let p: InjectedPlatform;
beforeAll(async () => {
  p = await injectPlatform();
});
afterAll(() => p?.close());

const VALUE = 'value-that-must-never-be-served-9f3a';
const secrets = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', json?: unknown) => p.request({ method, url: '/system/secrets', json });

describe('secrets', () => {
  it('creates, lists (names only), updates and removes a secret', async () => {
    expect((await secrets('GET')).json()).toEqual([]);
    const created = await secrets('POST', { name: 'api-key', value: VALUE, namespace: 'openfaas-fn' });
    expect([created.statusCode, created.json()]).toEqual([201, { name: 'api-key', namespace: 'openfaas-fn' }]);
    const again = await secrets('POST', { name: 'api-key', value: 'other' });
    expect([again.statusCode, again.json().error.message]).toEqual([409, 'secret "api-key" already exists']);

    const listed = await secrets('GET');
    expect([listed.statusCode, listed.json()]).toEqual([200, [{ name: 'api-key', namespace: 'openfaas-fn' }]]);
    expect(listed.body).not.toContain(VALUE);

    const updated = await secrets('PUT', { name: 'api-key', value: `${VALUE}-2` });
    expect([updated.statusCode, updated.json()]).toEqual([202, { name: 'api-key', namespace: 'openfaas-fn' }]);
    expect((await secrets('PUT', { name: 'missing', value: 'x' })).statusCode).toBe(404);

    expect((await secrets('DELETE', { name: 'api-key' })).statusCode).toBe(202);
    expect((await secrets('GET')).json()).toEqual([]);
    const gone = await secrets('DELETE', { name: 'api-key' });
    expect([gone.statusCode, gone.json().error.message]).toEqual([404, 'secret "api-key" not found']);
  });

  it('takes a base64 rawValue as faas-cli sends files', async () => {
    expect((await secrets('POST', { name: 'from-file', rawValue: Buffer.from([0, 1, 2, 255]).toString('base64') })).statusCode).toBe(201);
    expect((await secrets('GET')).json()).toContainEqual({ name: 'from-file', namespace: 'openfaas-fn' });
    expect((await secrets('DELETE', { name: 'from-file' })).statusCode).toBe(202);
  });

  it('answers 400 naming the field for bad bodies', async () => {
    const cases: Array<[unknown, RegExp | string]> = [
      [{}, 'field "name" is required'],
      [{ value: 'x' }, 'field "name" is required'],
      [{ name: 'Bad_Name', value: 'x' }, /^field "name" must be a DNS-1123 label/],
      [{ name: 'no-value' }, 'field "value" is required (or "rawValue", base64)'],
      [{ name: 'num', value: 3 }, 'field "value" must be string'],
    ];
    for (const [body, message] of cases) {
      for (const method of ['POST', 'PUT'] as const) {
        const res = await secrets(method, body);
        expect(res.statusCode, `${method} ${JSON.stringify(body)}`).toBe(400);
        if (typeof message === 'string') expect(res.json().error.message).toBe(message);
        else expect(res.json().error.message).toMatch(message);
      }
    }
    expect((await secrets('DELETE', {})).json().error.message).toBe('field "name" is required');
    expect((await secrets('GET')).json()).toEqual([]);
  });

  it('lets a deploy name secrets that exist, and describes the function with their names only', async () => {
    const refused = await p.deploy('needs-secret', { secrets: ['db-password'] });
    expect([refused.statusCode, refused.json().error.message]).toEqual([400, expect.stringMatching(/^field "secrets": .*"db-password".*spindle secret create/)]);
    expect((await secrets('POST', { name: 'db-password', value: VALUE })).statusCode).toBe(201);
    expect((await p.deploy('needs-secret', { secrets: ['db-password'] })).statusCode).toBe(202);
    const described = await p.request({ method: 'GET', url: '/system/function/needs-secret' });
    expect(described.json().secrets).toEqual(['db-password']);
    expect(described.body).not.toContain(VALUE);
    expect((await p.request({ method: 'GET', url: '/system/functions' })).body).not.toContain(VALUE);
  });

  it('refuses another namespace (404), both value and rawValue, and a rawValue that is not base64 (400)', async () => {
    const other = await secrets('POST', { name: 'elsewhere', value: 'x', namespace: 'other' });
    expect([other.statusCode, other.json().error.message]).toEqual([404, 'namespace "other" does not exist: Spindle has one namespace, openfaas-fn']);
    expect((await p.request({ method: 'GET', url: '/system/secrets?namespace=other' })).statusCode).toBe(404);
    const both = await secrets('POST', { name: 'both', value: 'x', rawValue: 'eA==' });
    expect([both.statusCode, both.json().error.message]).toEqual([400, 'fields "value" and "rawValue" are both set: send one']);
    const bad = await secrets('POST', { name: 'bad', rawValue: '!!' });
    expect([bad.statusCode, bad.json().error.message]).toEqual([400, 'field "rawValue" must be base64']);
    expect((await secrets('GET')).json().map((x: { name: string }) => x.name)).not.toContain('bad');
  });
});
