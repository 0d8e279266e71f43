/**
 * Browser test helpers: Debian's Chromium driven by playwright-core (never a downloaded browser), console
 * errors collected per page, an axe-core scan injected into the page, screenshots under tests/.screenshots/,
 * and the figures the web app's issue asks for (JS shipped, time to interactive, event → colour delay).
 */
import { createRequire } from 'node:module';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { ROOT } from './harness.ts';

/** Where Chromium is (`.ci/run` installs Debian's package); CHROMIUM_PATH overrides. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'tests', '.screenshots');

/** Launches Chromium headless (no sandbox: CI runs as root). */
export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
}

/** A console message or page error, with where it came from. */
export interface PageProblem {
  text: string;
  url: string;
}

/**
 * Collects console errors and uncaught exceptions of every page in `context`. A resource that failed with a
 * status the test expects (`allowed` matches its URL) is not a problem: the browser logs every non-2xx fetch.
 */
export function watchConsole(context: BrowserContext, allowed: (p: PageProblem) => boolean): PageProblem[] {
  const problems: PageProblem[] = [];
  const onConsole = (page: Page) => (msg: ConsoleMessage) => {
    if (msg.type() !== 'error') return;
    const p = { text: msg.text(), url: msg.location().url || page.url() };
    if (!allowed(p)) problems.push(p);
  };
  context.on('page', (page) => {
    page.on('console', onConsole(page));
    page.on('pageerror', (err) => problems.push({ text: `uncaught: ${err.message}`, url: page.url() }));
  });
  return problems;
}

let axeSource: string | undefined;

/** Runs axe-core in the page; returns the serious and critical violations as readable lines. */
export async function axeScan(page: Page): Promise<string[]> {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.targets.join(', ')}`);
}

/** Saves a screenshot of the page at `width` (full page). */
export async function screenshot(page: Page, name: string, width: number): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.setViewportSize({ width, height: width >= 1000 ? 800 : 844 });
  // Let charts and layouts that follow the width settle.
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}.png`), fullPage: true });
}

/** Gzipped size of every script the page loaded during `load()` (bytes), measured from the bodies it got. */
export async function scriptBytes(page: Page, load: () => Promise<void>): Promise<{ files: number; raw: number; gzip: number }> {
  const bodies: Array<Promise<Buffer>> = [];
  const onResponse = (res: import('playwright-core').Response) => {
    if (res.request().resourceType() === 'script' && res.ok()) bodies.push(res.body());
  };
  page.on('response', onResponse);
  try {
    await load();
  } finally {
    page.off('response', onResponse);
  }
  const all = await Promise.all(bodies);
  return { files: all.length, raw: all.reduce((n, b) => n + b.length, 0), gzip: all.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0) };
}

/**
 * Records, in the page, every change of a DAG node's `data-status` with the wall-clock moment it happened and
 * the gateway's timestamp of the event behind it (`data-event-at`), plus when each EventSource opened (events
 * written before that were replayed, not live). Call before the page loads (an init script).
 */
export async function recordNodeChanges(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __nodeChanges: unknown[]; __streamsOpen: number[] };
    w.__nodeChanges = [];
    w.__streamsOpen = [];
    const Native = window.EventSource;
    class Recorded extends Native {
      constructor(url: string | URL, init?: EventSourceInit) {
        super(url, init);
        this.addEventListener('open', () => w.__streamsOpen.push(performance.timeOrigin + performance.now()));
      }
    }
    window.EventSource = Recorded as typeof EventSource;
    const observer = new MutationObserver((records) => {
      const seenAt = performance.timeOrigin + performance.now();
      for (const r of records) {
        const el = r.target as Element;
        if (r.type === 'attributes' && r.attributeName === 'data-status' && el.hasAttribute('data-node')) {
          w.__nodeChanges.push({ node: el.getAttribute('data-node'), status: el.getAttribute('data-status'), eventAt: el.getAttribute('data-event-at'), seenAt, path: location.pathname });
        }
      }
    });
    const start = () => observer.observe(document.documentElement, { attributes: true, subtree: true, attributeFilter: ['data-status'] });
    if (document.documentElement) start();
    else document.addEventListener('DOMContentLoaded', start);
  });
}

/** What recordNodeChanges saw on `path`. */
export async function nodeChanges(page: Page): Promise<{ changes: Array<{ node: string; status: string; eventAt: string | null; seenAt: number; path: string }>; opened: number[] }> {
  return page.evaluate(() => {
    const w = window as unknown as { __nodeChanges: never[]; __streamsOpen: number[] };
    return { changes: w.__nodeChanges, opened: w.__streamsOpen };
  });
}

/** Median and max of a list (ms). */
export function summary(values: number[]): { n: number; median: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, median: s.length ? s[Math.floor(s.length / 2)] : Number.NaN, max: s.length ? s[s.length - 1] : Number.NaN };
}
