/**
 * The web app build cache of `spindle start`, with a real `npm run build` of a tiny app in a temp folder (its
 * build script writes build/index.html and counts its runs): built once, reused while unchanged, rebuilt when a
 * source changes, one build for starts racing each other, and a failing build reported with its output.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebApp } from './web-app.ts';

const BUILD = `const fs = require('node:fs');
fs.appendFileSync('../builds.log', 'x');
if (fs.readFileSync('src/app.txt', 'utf8').includes('broken')) { console.error('src/app.txt: syntax error'); process.exit(2); }
fs.mkdirSync('build/_app/immutable', { recursive: true });
fs.writeFileSync('build/index.html', '<!doctype html>' + fs.readFileSync('src/app.txt', 'utf8'));
`;

let root: string;
let sources: string;
let opts: { sources: string; cacheDir: string; lockFile: string; shared: string[] };
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'spindle-webapp-build-'));
  sources = path.join(root, 'web');
  await mkdir(path.join(sources, 'src'), { recursive: true });
  await writeFile(path.join(sources, 'package.json'), JSON.stringify({ name: 'tiny-app', private: true, scripts: { build: 'node build.cjs' } }));
  await writeFile(path.join(sources, 'build.cjs'), BUILD);
  await writeFile(path.join(sources, 'src', 'app.txt'), 'version one');
  await writeFile(path.join(root, 'package-lock.json'), '{}');
  await mkdir(path.join(root, 'shared'));
  await writeFile(path.join(root, 'shared', 'plan.ts'), 'one');
  opts = { sources, cacheDir: path.join(root, 'cache'), lockFile: path.join(root, 'package-lock.json'), shared: [path.join(root, 'shared')] };
});
afterAll(() => rm(root, { recursive: true, force: true }));

const builds = async () => (existsSync(path.join(root, 'builds.log')) ? (await readFile(path.join(root, 'builds.log'), 'utf8')).length : 0);

describe('ensureWebApp', () => {
  it('builds once, then reuses the build while nothing changed', async () => {
    let told = 0;
    const first = await ensureWebApp({ ...opts, onBuild: () => told++ });
    expect(first).toMatchObject({ built: true });
    if (!('dir' in first)) throw new Error('no build');
    expect(await readFile(path.join(first.dir, 'index.html'), 'utf8')).toBe('<!doctype html>version one');
    expect(path.dirname(first.dir)).toBe(opts.cacheDir);
    const again = await ensureWebApp({ ...opts, onBuild: () => told++ });
    expect(again).toEqual({ dir: first.dir, built: false, ms: expect.any(Number) });
    expect([told, await builds()]).toEqual([1, 1]);
  });

  it('rebuilds when a source or the lockfile changes; racing starts share one build', async () => {
    await writeFile(path.join(sources, 'src', 'app.txt'), 'version two');
    const before = await builds();
    const results = await Promise.all([ensureWebApp(opts), ensureWebApp(opts), ensureWebApp(opts)]);
    expect(await builds()).toBe(before + 1);
    const dirs = new Set(results.map((r) => ('dir' in r ? r.dir : 'none')));
    expect(dirs.size).toBe(1);
    const [dir] = dirs;
    expect(await readFile(path.join(dir, 'index.html'), 'utf8')).toBe('<!doctype html>version two');
    await writeFile(opts.lockFile, '{"changed":true}');
    const relocked = await ensureWebApp(opts);
    expect(relocked).toMatchObject({ built: true });
    expect('dir' in relocked && relocked.dir).not.toBe(dir);
    // A source the app imports from outside web/ (schemas/src) counts too.
    await writeFile(path.join(root, 'shared', 'plan.ts'), 'two');
    expect(await ensureWebApp(opts)).toMatchObject({ built: true });
  });

  it('reports a failing build with its output, and a missing app', async () => {
    await writeFile(path.join(sources, 'src', 'app.txt'), 'broken');
    const failed = await ensureWebApp(opts);
    expect(failed).toMatchObject({ failed: expect.stringContaining('exited with code 2') });
    expect('output' in failed && failed.output).toContain('src/app.txt: syntax error');
    expect(await ensureWebApp({ ...opts, sources: path.join(root, 'nowhere') })).toEqual({ missing: expect.stringContaining('nowhere') });
  });
});
