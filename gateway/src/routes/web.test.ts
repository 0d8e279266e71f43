/**
 * The web app at `/ui`, over a real socket as a browser gets it: a gateway listening on a port with a prebuilt
 * app folder (made here: an index.html and a hashed asset under _app/immutable, the shape adapter-static
 * writes), the caching headers, the SPA fallback, 404s for missing assets, the `/` redirect for browsers only,
 * and the 503 page while there is no app or a build is under way.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectPlatform, type InjectedPlatform } from './inject-support.ts';

const INDEX = '<!doctype html><html><head><script type="module" src="/ui/_app/immutable/entry/start.abc123.js"></script></head><body>app shell</body></html>\n';
const SCRIPT = 'console.log("spindle app");\n';

let p: InjectedPlatform;
let url: string;
let appDir: string;
beforeAll(async () => {
  appDir = await mkdtemp(join(tmpdir(), 'spindle-webapp-'));
  await mkdir(join(appDir, '_app', 'immutable', 'entry'), { recursive: true });
  await writeFile(join(appDir, 'index.html'), INDEX);
  await writeFile(join(appDir, '_app', 'immutable', 'entry', 'start.abc123.js'), SCRIPT);
  await writeFile(join(appDir, '_app', 'version.json'), '{"version":"1"}');
  await writeFile(join(appDir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  p = await injectPlatform({ webDir: appDir });
  url = await p.platform.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await p?.close();
  await rm(appDir, { recursive: true, force: true });
});

describe('/ui from a built app', () => {
  it('serves index.html at /ui and /ui/, revalidated, not framed by other sites', async () => {
    for (const path of ['/ui', '/ui/']) {
      const res = await fetch(url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.text()).toBe(INDEX);
    }
  });

  it('caches hashed build assets for a year, immutable; other files are revalidated', async () => {
    const asset = await fetch(`${url}/ui/_app/immutable/entry/start.abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await asset.text()).toBe(SCRIPT);
    for (const path of ['/ui/_app/version.json', '/ui/favicon.svg']) {
      const res = await fetch(url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('cache-control'), path).toBe('no-cache');
    }
  });

  it('answers index.html for the app routes (SPA fallback), 404 for missing files, and never leaves the folder', async () => {
    for (const path of ['/ui/functions/greet', '/ui/runs/123?tab=nodes', '/ui/graphs/demo/']) {
      const res = await fetch(url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toBe(INDEX);
    }
    for (const path of ['/ui/_app/immutable/entry/start.gone.js', '/ui/missing.png', '/ui/%2e%2e/%2e%2e/etc/passwd', '/ui/..%2f..%2fpackage.json']) {
      const res = await fetch(url + path);
      expect(res.status, path).toBe(404);
      expect((await res.json()).error.code).toBe('SPINDLE_NOT_FOUND');
    }
  });

  it('sends browsers from / to /ui and keeps the JSON 404 for API clients', async () => {
    const browser = await fetch(`${url}/`, { headers: { accept: 'text/html,application/xhtml+xml' }, redirect: 'manual' });
    expect(browser.status).toBe(302);
    expect(browser.headers.get('location')).toBe('/ui');
    const api = await fetch(`${url}/`);
    expect(api.status).toBe(404);
    expect((await api.json()).error.code).toBe('SPINDLE_NOT_FOUND');
  });

  it('answers a 503 page that says how to build the app while there is none, and one that reloads during a build', async () => {
    p.platform.web.unavailable('web/build was not found');
    try {
      const res = await fetch(`${url}/ui/functions`);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const page = await res.text();
      expect(page).toContain('web/build was not found');
      expect(page).toContain('npm run build -w web');
      expect(page).toContain('SPINDLE_WEB_DIR');
      p.platform.web.building();
      const building = await fetch(`${url}/ui`);
      expect(building.status).toBe(503);
      expect(await building.text()).toContain('http-equiv="refresh"');
    } finally {
      p.platform.web.use(appDir);
    }
    expect((await fetch(`${url}/ui`)).status).toBe(200);
  });
});
