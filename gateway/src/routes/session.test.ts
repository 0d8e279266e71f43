/**
 * Web app sessions through `app.inject()`: login (JSON and form), the cookie's attributes, the session view,
 * the cookie accepted wherever basic auth is (and basic auth unchanged), CSRF and Origin checks on changes,
 * logout, forged and expired cookies, and the login rate limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { loadSessionKey, Sessions, sessionSigningKey } from '../session.ts';
import { LOGIN_ATTEMPTS_PER_MINUTE } from './session.ts';
import { injectPlatform, type InjectedPlatform } from './inject-support.ts';

const PASSWORD = 'route-test-password';
let p: InjectedPlatform;
beforeAll(async () => {
  p = await injectPlatform();
});
afterAll(() => p?.close());

/** The `name=value` part of the session cookie a response set. */
function sessionOf(res: LightMyRequestResponse): string {
  const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('spindle_session='));
  expect(set, 'a spindle_session cookie').toBeDefined();
  return set!.split(';')[0];
}

/** Logs in from another address each time (the rate limit is per address) and returns the cookie and CSRF token. */
let address = 1;
async function login(): Promise<{ cookie: string; csrf: string }> {
  const res = await p.request({ method: 'POST', url: '/system/login', json: { password: PASSWORD }, auth: false, remoteAddress: `10.0.0.${address++}` });
  expect(res.statusCode, res.body).toBe(204);
  const cookie = sessionOf(res);
  const view = await p.request({ method: 'GET', url: '/system/session', auth: false, headers: { cookie } });
  expect(view.statusCode).toBe(200);
  return { cookie, csrf: view.json().csrf };
}

describe('login', () => {
  it('sets an HttpOnly, SameSite=Strict, path-wide cookie with a Max-Age, Secure only over https', async () => {
    const res = await p.request({ method: 'POST', url: '/system/login', json: { password: PASSWORD }, auth: false, remoteAddress: '10.1.0.1' });
    expect(res.statusCode).toBe(204);
    const set = String(res.headers['set-cookie']);
    expect(set).toMatch(/^spindle_session=[^;]+/);
    expect(set).toMatch(/; HttpOnly/i);
    expect(set).toMatch(/; SameSite=Strict/i);
    expect(set).toMatch(/; Path=\//);
    expect(set).toMatch(/; Max-Age=43200/);
    expect(set).not.toMatch(/Secure/i);
    const https = await p.request({ method: 'POST', url: '/system/login', json: { password: PASSWORD }, auth: false, remoteAddress: '10.1.0.2', headers: { 'x-forwarded-proto': 'https' } });
    expect(String(https.headers['set-cookie'])).toMatch(/; Secure/);
  });

  it('takes a form too, and shows the session: user, csrf token, expiry', async () => {
    const res = await p.request({ method: 'POST', url: '/system/login', payload: `password=${encodeURIComponent(PASSWORD)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, auth: false, remoteAddress: '10.1.0.3' });
    expect(res.statusCode).toBe(204);
    const view = await p.request({ method: 'GET', url: '/system/session', auth: false, headers: { cookie: sessionOf(res) } });
    const body = view.json();
    expect(body.user).toBe('admin');
    expect(body.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const left = Date.parse(body.expiresAt) - Date.now();
    expect(left).toBeGreaterThan(11 * 3600_000);
    expect(left).toBeLessThanOrEqual(12 * 3600_000);
  });

  it('refuses a wrong password (401, readable, no browser challenge), a missing one (400 naming it), and a foreign Origin (403)', async () => {
    const wrong = await p.request({ method: 'POST', url: '/system/login', json: { password: 'guess' }, auth: false, remoteAddress: '10.1.0.4' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.message).toBe('wrong password for user "admin"');
    expect(wrong.headers['www-authenticate']).toBeUndefined();
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const missing = await p.request({ method: 'POST', url: '/system/login', json: {}, auth: false, remoteAddress: '10.1.0.4' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.message).toContain('field "password"');
    const foreign = await p.request({ method: 'POST', url: '/system/login', json: { password: PASSWORD }, auth: false, remoteAddress: '10.1.0.4', headers: { origin: 'https://evil.example' } });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error.message).toContain('header "Origin"');
  });

  it(`allows ${LOGIN_ATTEMPTS_PER_MINUTE} attempts a minute per address, then 429 with Retry-After`, async () => {
    const attempt = (remoteAddress: string) => p.request({ method: 'POST', url: '/system/login', json: { password: 'guess' }, auth: false, remoteAddress });
    for (let i = 0; i < LOGIN_ATTEMPTS_PER_MINUTE; i++) expect((await attempt('10.2.0.1')).statusCode).toBe(401);
    const limited = await attempt('10.2.0.1');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json().error.message).toContain('too many login attempts');
    // The right password is refused too while limited; another address is not affected.
    expect((await p.request({ method: 'POST', url: '/system/login', json: { password: PASSWORD }, auth: false, remoteAddress: '10.2.0.1' })).statusCode).toBe(429);
    expect((await attempt('10.2.0.2')).statusCode).toBe(401);
  });
});

describe('the session cookie on the API', () => {
  it('is accepted wherever basic auth is, for reads', async () => {
    const { cookie } = await login();
    for (const url of ['/system/functions', '/system/info', '/runs', '/system/graphs', '/system/stats', '/system/async/dead-letters', '/system/runner']) {
      const res = await p.request({ method: 'GET', url, auth: false, headers: { cookie } });
      expect(res.statusCode, `${url}: ${res.body.slice(0, 200)}`).toBe(200);
    }
  });

  it('needs the CSRF token to change something, and an Origin of this gateway when one is sent', async () => {
    const { cookie, csrf } = await login();
    const secret = (headers: Record<string, string>, name: string) =>
      p.request({ method: 'POST', url: '/system/secrets', json: { name, value: 'v' }, auth: false, headers: { cookie, host: 'gw.test:8080', ...headers } });
    const none = await secret({}, 'csrf-none');
    expect(none.statusCode).toBe(403);
    expect(none.json().error.message).toContain('header "X-CSRF-Token"');
    expect((await secret({ 'x-csrf-token': `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}` }, 'csrf-wrong')).statusCode).toBe(403);
    const foreign = await secret({ 'x-csrf-token': csrf, origin: 'http://evil.example:8080' }, 'csrf-foreign');
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error.message).toContain('header "Origin"');
    expect((await secret({ 'x-csrf-token': csrf, origin: 'http://gw.test:8080' }, 'csrf-ok')).statusCode).toBeLessThan(300);
    expect((await secret({ 'x-csrf-token': csrf }, 'csrf-ok-2')).statusCode).toBeLessThan(300);
    // Async admin routes (their own scope) check the same way.
    const del = await p.request({ method: 'DELETE', url: '/async-function/some-call', auth: false, headers: { cookie } });
    expect(del.statusCode).toBe(403);
  });

  it('leaves basic auth as it was: credentials in Authorization win over the cookie and need no CSRF token', async () => {
    const { cookie } = await login();
    const res = await p.request({ method: 'POST', url: '/system/secrets', json: { name: 'basic-wins', value: 'v' }, headers: { cookie } });
    expect(res.statusCode).toBeLessThan(300);
    const wrong = await p.request({ method: 'GET', url: '/system/functions', auth: false, headers: { cookie, authorization: 'Basic d3Jvbmc6d3Jvbmc=' } });
    expect(wrong.statusCode).toBe(401);
  });

  it('refuses forged, tampered and expired cookies with a 401 the app can act on', async () => {
    const { cookie } = await login();
    const [name, value] = cookie.split('=');
    const tampered = `${name}=${decodeURIComponent(value).replace(/^v1\.\d+/, 'v1.9999999999')}`;
    for (const c of [tampered, `${name}=v1.9999999999.AAAAAAAAAAAAAAAAAAAAAA.sig`, `${name}=`]) {
      const res = await p.request({ method: 'GET', url: '/system/functions', auth: false, headers: { cookie: c } });
      expect(res.statusCode, c).toBe(401);
      expect(res.headers['www-authenticate']).toBeUndefined();
    }
    // Expired: a session issued 13 hours ago by this gateway's own key.
    const fileKey = await loadSessionKey(p.platform.config.dataDir);
    const key = sessionSigningKey(fileKey, 'route-test-password');
    const expired = new Sessions(key).issue(Date.now() - 13 * 3600_000).cookie;
    const res = await p.request({ method: 'GET', url: '/system/session', auth: false, headers: { cookie: `spindle_session=${encodeURIComponent(expired)}` } });
    expect(res.statusCode).toBe(401);
    const fresh = new Sessions(key).issue().cookie;
    expect((await p.request({ method: 'GET', url: '/system/session', auth: false, headers: { cookie: `spindle_session=${encodeURIComponent(fresh)}` } })).statusCode).toBe(200);
    // Signed before the admin password changed (same data dir key, another password): refused.
    const before = new Sessions(sessionSigningKey(fileKey, 'the-old-password')).issue().cookie;
    expect((await p.request({ method: 'GET', url: '/system/session', auth: false, headers: { cookie: `spindle_session=${encodeURIComponent(before)}` } })).statusCode).toBe(401);
  });

  it('logout clears the cookie (with the CSRF token when logged in)', async () => {
    const { cookie, csrf } = await login();
    expect((await p.request({ method: 'POST', url: '/system/logout', auth: false, headers: { cookie } })).statusCode).toBe(403);
    const out = await p.request({ method: 'POST', url: '/system/logout', auth: false, headers: { cookie, 'x-csrf-token': csrf } });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/^spindle_session=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)/i);
    expect((await p.request({ method: 'GET', url: '/system/session', auth: false })).statusCode).toBe(401);
    // A copy of the cookie kept after logout is refused by this gateway too.
    expect((await p.request({ method: 'GET', url: '/system/functions', auth: false, headers: { cookie } })).statusCode).toBe(401);
    expect((await login()).cookie).not.toBe(cookie);
  });
});
