/**
 * The web app in a real Chromium against a real gateway: real replicas (greet, the demo graph's functions,
 * tick), a real GPU runner (matte on the CPU), the app built by `spindle start`'s own step and served at /ui.
 * What a person does, page by page: log in, see functions, invoke through the generated form, upload an image,
 * run graphs and watch them live, cancel, re-run with an edited input, follow logs, read an API error; no
 * console errors; an axe scan of every page; a screenshot of every page at 1280 and 390 px. Prints the
 * figures of the issue (JS shipped, time to interactive, event → colour delay) without asserting them.
 */
import { loadavg } from 'node:os';
import sharp from 'sharp';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebApp } from '../cli/src/web-app.ts';
import { startPlatform, uniqueName, type Api } from './harness.ts';
import { deployGpu, loaded, redisPrefix, startRunner, waitRunner, type RunnerProc } from './gpu-harness.ts';
import { axeScan, launch, nodeChanges, recordNodeChanges, screenshot, scriptBytes, summary, watchConsole, type PageProblem } from './web-support.ts';

const redis = redisPrefix();
let api: Api;
let stop: () => Promise<void>;
let runner: RunnerProc;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: PageProblem[];
const a11y: Record<string, string[]> = {};
const figures: Record<string, unknown> = {};
let ui: string;

/** The demo graph of stack.yml: greet → (shout ∥ count) → report. */
const demo = {
  description: 'greet → (shout ∥ wordcount) → report',
  example: { name: 'Ada' },
  input: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
  nodes: {
    greet: { function: 'greet', input: { name: '{{ input.name }}' } },
    shout: { function: 'shout', input: { text: '{{ nodes.greet.output.greeting }}' } },
    count: { function: 'wordcount', input: { text: '{{ nodes.greet.output.greeting }}' } },
    report: { function: 'report', input: { loud: '{{ nodes.shout.output.text }}', words: '{{ nodes.count.output.words }}' } },
  },
};
/** Three nodes in a row that each wait `ms`: slow enough to cancel, and to watch events arrive live. */
const ticks = {
  description: 'a → b → c, each waiting input.ms',
  example: { ms: 20000 },
  input: { type: 'object', required: ['ms'], properties: { ms: { type: 'integer', minimum: 0, maximum: 60000 } } },
  nodes: {
    a: { function: 'tick', input: { label: 'a', ms: '{{ input.ms }}' } },
    b: { function: 'tick', input: { label: 'b', ms: '{{ input.ms }}', ticks: '{{ nodes.a.output.ticks }}' } },
    c: { function: 'tick', input: { label: 'c', ms: '{{ input.ms }}', ticks: '{{ nodes.b.output.ticks }}' }, when: 'nodes.b.output.ticks >= 2' },
  },
};

/** Requests the browser logs as failed on purpose: the session check before login, the wrong password, the unknown function. */
const expected = (p: PageProblem) =>
  /status of 401/.test(p.text) ? /\/system\/(session|login)$/.test(p.url) : /status of 404/.test(p.text) ? /does-not-exist/.test(p.url) : false;

beforeAll(async () => {
  const [app, started] = await Promise.all([ensureWebApp(), startPlatform({ redisPrefix: redis.prefix, natsPrefix: uniqueName('web') })]);
  ({ api, stop } = started);
  if (!('dir' in app)) throw new Error(`the web app could not be built: ${'failed' in app ? `${app.failed}\n${app.output}` : app.missing}`);
  figures.webBuild = app.built ? `built in ${app.ms} ms` : 'reused the cached build';
  // What `spindle start` does once its build is ready.
  expect(started.platform.web.use(app.dir).kind).toBe('ready');
  ui = `${api.url}/ui`;
  // The runner loads matte (ISNet's warm-up is the slow part) while the control functions deploy.
  const matte = startRunner(redis.prefix).then((r) => {
    runner = r;
    return deployGpu(api, 'matte', 'matte');
  });
  // greet's replica reports its input schema at ready; the gateway's status carries it to the form.
  const control = [['greet', {}], ['shout', {}], ['wordcount', {}], ['report', {}], ['tick', {}]] as const;
  for (const res of await Promise.all(control.map(([fn, extra]) => api.deploy(fn, fn, extra)))) expect(res.status).toBe(202);
  await Promise.all(control.map(([fn]) => api.waitReplicas(fn, 1, 30_000)));
  expect((await api.system('PUT', '/system/graphs/demo', demo)).status).toBe(201);
  expect((await api.system('PUT', '/system/graphs/ticks', ticks)).status).toBe(201);
  expect((await matte).status).toBe(202);
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  problems = watchConsole(context, expected);
  page = await context.newPage();
  await recordNodeChanges(page);
  await waitRunner(api, loaded('matte'), 120_000);
}, 400_000);

afterAll(async () => {
  console.log(`web app figures (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${process.env.CI ? 'CI' : 'this machine'}):\n${JSON.stringify(figures, null, 2)}`);
  await browser?.close();
  await runner?.stop();
  await stop?.();
  await redis.cleanup();
});

/** Goes to an app path and waits until the app has rendered its main content. */
async function open(path: string): Promise<void> {
  await page.goto(`${ui}${path}`);
  await page.locator('main h1').first().waitFor();
}

describe('web app', () => {
  it('refuses a wrong password, then logs in and comes back to the page asked for', async () => {
    const js = await scriptBytes(page, async () => {
      const t0 = Date.now();
      await page.goto(`${ui}/functions`);
      await page.getByLabel('Admin password').waitFor();
      figures.loginPage = { timeToInteractiveMs: Date.now() - t0, domInteractiveMs: await page.evaluate(() => Math.round((performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).domInteractive)) };
    });
    figures.firstPageJs = { files: js.files, gzipKB: +(js.gzip / 1024).toFixed(1), rawKB: +(js.raw / 1024).toFixed(1) };
    expect(page.url()).toContain('/ui/login?next=');
    await page.getByLabel('Admin password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/Wrong password/);
    await page.getByLabel('Admin password').fill(api.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Functions' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/ui/functions');
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'spindle_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });

  it('lists the functions with their plane and replicas', async () => {
    for (const fn of ['greet', 'matte', 'tick']) await page.locator(`tr[data-function="${fn}"]`).waitFor();
    expect(await page.locator('tr[data-function="greet"]').textContent()).toMatch(/control.*1 \/ 1/);
    expect(await page.locator('tr[data-function="matte"]').textContent()).toMatch(/gpu.*loaded/);
    a11y.functions = await axeScan(page);
    const t0 = Date.now();
    await open('/');
    await page.getByTestId('functions-ready').filter({ hasText: '6 / 6' }).waitFor();
    figures.overviewMs = Date.now() - t0;
    a11y.overview = await axeScan(page);
  });

  it('invokes greet through the form generated from its schema and shows the JSON', async () => {
    await open('/invoke?fn=greet');
    const name = page.getByLabel(/^name/);
    await name.waitFor();
    expect(await page.getByLabel(/^language/).inputValue()).not.toBe('-1');
    // A required field left empty is flagged inline before anything is sent.
    await page.getByRole('button', { name: 'Invoke' }).click();
    await expect.poll(() => page.locator('[data-field="/name"] .err').textContent()).toBe('name is required');
    await name.fill('Ada');
    await page.getByLabel(/^language/).selectOption({ label: 'fr' });
    await page.getByRole('button', { name: 'Invoke' }).click();
    await page.locator('section.response[data-status="200"] pre.json').waitFor();
    expect(JSON.parse((await page.locator('section.response pre.json').textContent())!)).toEqual({ greeting: 'Bonjour, Ada!' });
    a11y.invoke = await axeScan(page);
  });

  it('uploads an image to matte and previews the cut-out', async () => {
    const W = 320;
    const png = await sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${W}"><rect width="100%" height="100%" fill="#1e3a8a"/><circle cx="160" cy="160" r="90" fill="#fde047"/></svg>`)).png().toBuffer();
    await open('/invoke?fn=matte');
    await page.getByLabel(/^File/).setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: png });
    await page.getByRole('button', { name: 'Invoke' }).click();
    const img = page.locator('section.response[data-status="200"] img');
    await img.waitFor({ timeout: 90_000 });
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(W);
    expect(await page.locator('section.response').textContent()).toContain('image/png');
  }, 120_000);

  it('starts the demo graph from its page and every node turns succeeded live, without a reload', async () => {
    await open('/graphs/demo');
    await page.locator('g[data-node="report"]').waitFor();
    expect(await page.locator('text.when').count()).toBe(0);
    expect(await page.getByLabel(/^name/).inputValue()).toBe('Ada');
    a11y.graph = await axeScan(page);
    await page.evaluate(() => Object.assign(window, { __sameDocument: true }));
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/\/ui\/runs\/[0-9a-f-]+$/);
    for (const node of ['greet', 'shout', 'count', 'report']) await page.locator(`g[data-node="${node}"][data-status="succeeded"]`).waitFor();
    await page.getByTestId('run-status').getByText('succeeded').waitFor();
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    // Each node went through its states in the page (pending → running → succeeded), not drawn finished at once.
    const { changes } = await nodeChanges(page);
    const here = new URL(page.url()).pathname;
    for (const node of ['greet', 'shout', 'count', 'report']) {
      const seen = changes.filter((c) => c.path === here && c.node === node).map((c) => c.status);
      expect(seen, node).toEqual(expect.arrayContaining(['running', 'succeeded']));
    }
    expect(await page.locator('section[aria-labelledby="detail-title"]').textContent()).toContain('HELLO, ADA!');
  });

  it('cancels a slow run, then re-runs it with an edited input and watches it live', async () => {
    await open('/graphs/ticks');
    expect(await page.locator('text.when').first().textContent()).toContain('when nodes.b.output.ticks >= 2');
    expect(await page.getByLabel(/^ms/).inputValue()).toBe('20000');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/\/ui\/runs\/[0-9a-f-]+$/);
    const slowRun = new URL(page.url()).pathname;
    await page.locator('g[data-node="a"][data-status="running"]').waitFor();
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.getByTestId('run-status').getByText('cancelled').waitFor();
    expect((await (await api.system('GET', `/runs/${slowRun.split('/').pop()}`)).json()).status).toBe('cancelled');
    a11y.run = await axeScan(page);

    await page.getByRole('button', { name: 'Edit input and run' }).click();
    await page.getByLabel(/^ms/).fill('400');
    await page.getByRole('button', { name: 'Start the new run' }).click();
    await page.waitForURL((url) => url.pathname !== slowRun && /\/ui\/runs\//.test(url.pathname));
    for (const node of ['a', 'b', 'c']) await page.locator(`g[data-node="${node}"][data-status="succeeded"]`).waitFor({ timeout: 15_000 });
    await page.getByTestId('run-status').getByText('succeeded').waitFor();
    const runId = page.url().split('/').pop()!;
    const run = await (await api.system('GET', `/runs/${runId}`)).json();
    expect(run.input).toEqual({ ms: 400 });
    expect(run.output).toMatchObject({ label: 'c', ticks: 3 });
    // Delay from the gateway writing an event to the node's colour changing, for events that arrived live.
    const { changes, opened } = await nodeChanges(page);
    const live = changes.filter((c) => c.path === `/ui/runs/${runId}` && c.eventAt && Date.parse(c.eventAt) > Math.max(...opened.slice(-1)));
    figures.eventToColourMs = { ...summary(live.map((c) => c.seenAt - Date.parse(c.eventAt!))), note: 'gateway event timestamp → DOM data-status change (MutationObserver), same machine clock' };
    expect(live.length).toBeGreaterThan(0);
  }, 60_000);

  it('follows the logs of a function and shows a new line after an invoke', async () => {
    await open('/functions/greet');
    await page.getByText('following').waitFor();
    const name = `Grace${Date.now()}`;
    expect((await api.invoke('greet', { body: JSON.stringify({ name }), headers: { 'content-type': 'application/json' } })).status).toBe(200);
    await page.getByRole('log', { name: 'Log lines of greet' }).getByText(name).waitFor({ timeout: 10_000 });
    a11y.function = await axeScan(page);
  });

  it('shows an API error as a sentence', async () => {
    await open('/functions/does-not-exist');
    const alert = page.getByRole('alert').first();
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/Reading function "does-not-exist" failed \(404\): .*not deployed/);
  });

  it('creates and removes a secret by name, never showing its value', async () => {
    await open('/secrets');
    const value = `v3ry-s3cret-${Date.now()}`;
    await page.getByLabel('Name').fill('web-test-key');
    await page.getByLabel('Value').fill(value);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('cell', { name: 'web-test-key' }).waitFor();
    expect(await page.content()).not.toContain(value);
    await page.getByRole('row', { name: /web-test-key/ }).getByRole('button', { name: 'Remove…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove web-test-key' }).click();
    await page.getByRole('status').filter({ hasText: 'Secret web-test-key removed.' }).waitFor();
    expect(await (await api.system('GET', '/system/secrets')).json()).toEqual([]);
  });

  it('passes an accessibility scan and saves a screenshot of every page at 1280 and 390 px, with no console errors', async () => {
    const pages: Array<[string, string]> = [
      ['overview', '/'],
      ['functions', '/functions'],
      ['function', '/functions/greet'],
      ['invoke', '/invoke?fn=greet'],
      ['graphs', '/graphs'],
      ['graph', '/graphs/demo'],
      ['runs', '/runs?graph=ticks'],
      ['run', (await (await api.system('GET', '/runs?graph=demo&limit=1')).json()).runs.map((r: { runId: string }) => `/runs/${r.runId}`)[0]],
      ['runner', '/runner'],
      ['async', '/async'],
      ['secrets', '/secrets'],
    ];
    for (const [name, path] of pages) {
      await page.setViewportSize({ width: 1280, height: 800 });
      await open(path);
      await page.waitForLoadState('networkidle').catch(() => {});
      a11y[name] ??= await axeScan(page);
      if (['overview', 'functions', 'invoke', 'run'].includes(name)) {
        // The dark palette (prefers-color-scheme) is checked too: contrast is where it could go wrong.
        await page.emulateMedia({ colorScheme: 'dark' });
        a11y[`${name} (dark)`] = await axeScan(page);
        await screenshot(page, `${name}-dark`, 1280);
        await page.emulateMedia({ colorScheme: 'light' });
      }
      await screenshot(page, name, 1280);
      await screenshot(page, name, 390);
      // Usable at 390 px: nothing wider than the screen but the scrolling tables and drawings.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${name} is wider than 390 px`).toBeLessThanOrEqual(1);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    // The login page, signed out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin password').waitFor();
    a11y.login = await axeScan(page);
    await screenshot(page, 'login', 1280);
    await screenshot(page, 'login', 390);
    expect({ a11y: Object.entries(a11y).filter(([, v]) => v.length), consoleErrors: problems }).toEqual({ a11y: [], consoleErrors: [] });
  }, 120_000);
});
