/**
 * The web app for `spindle start`: built from `web/` (its own `npm run build`, SvelteKit's adapter-static
 * output in `web/build`) when its sources changed, and kept per checkout under
 * `node_modules/.cache/spindle-web/<hash>`, where the hash covers every source file of `web/` and the
 * lockfile. Each start of one checkout (whatever its data dir) reuses the same build; starts racing each
 * other take a lock (proper-lockfile) so one builds and the others wait, and a build is copied into a temp
 * folder and renamed into place, so a folder under its final name is always complete.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';
import { sha256 } from './files.ts';

/** The checkout's root and its web app's sources. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const WEB_SOURCES = path.join(ROOT, 'web');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'spindle-web');
/** Builds kept in the cache (the newest), so switching between branches does not always rebuild. */
const KEEP = 3;
/** What the hash leaves out: outputs and installed packages (`build` only at the top: the app's output folder). */
const SKIP = new Set(['node_modules', '.svelte-kit', '.vite']);
/** Sources outside web/ that the app imports (`@spindle/schemas/graph-plan`, `/validate`): a change there is a new build too. */
const SHARED_SOURCES = [path.join(ROOT, 'schemas', 'src')];

/** Where the app comes from. */
export interface WebAppOptions {
  /** The app's sources (default: `web/` of this checkout). */
  sources?: string;
  /** Where builds are kept (default: `node_modules/.cache/spindle-web` of this checkout). */
  cacheDir?: string;
  /** Folders outside `sources` whose files count in the hash (default: the checkout's schemas/src, which the app imports). */
  shared?: string[];
  /** The lockfile whose contents count in the hash (default: the checkout's package-lock.json). */
  lockFile?: string;
  /** Told once a build starts (not when an unchanged app is reused). */
  onBuild?: () => void;
  /** The build (default: `npm run build` in `sources`); returns its exit code and output. */
  build?: (sources: string) => Promise<{ code: number; output: string }>;
}

/** How it went: a folder to serve, or why there is none. */
export type WebAppResult = { dir: string; built: boolean; ms: number } | { missing: string } | { failed: string; output: string };

/** Every source file of the app, by path relative to it, with its hash (sorted, so the result is stable). */
async function sourceFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(path.join(dir, rel), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (SKIP.has(entry.name) || (rel === '' && entry.name === 'build')) continue;
    const name = path.join(rel, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(dir, name)));
    else if (entry.isFile()) out.push(`${name}\0${sha256(await readFile(path.join(dir, name)))}`);
  }
  return out;
}

/** The hash a build is kept under: the app's sources, the shared sources it imports, and the lockfile. */
export async function webSourceHash(sources: string, lockFile: string, shared: string[] = SHARED_SOURCES): Promise<string> {
  const files = await sourceFiles(sources);
  for (const dir of shared) if (existsSync(dir)) files.push(`${dir}\0`, ...(await sourceFiles(dir)));
  const lock = existsSync(lockFile) ? sha256(await readFile(lockFile)) : 'no-lockfile';
  return sha256(`${files.join('\n')}\n${lock}`).slice(0, 32);
}

const running = new Set<ChildProcess>();
// A build still running when `spindle start` exits goes with it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

/** `npm run build` in `sources`, its output kept (the last 64 KiB) for a failure's message. */
function npmBuild(sources: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '--silent'], { cwd: sources, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
    running.add(child);
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-65_536);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => keep(Buffer.from(`\n${err.message}\n`)));
    child.on('close', (code) => {
      running.delete(child);
      resolve({ code: code ?? 1, output });
    });
  });
}

/** Removes all but the KEEP newest builds (and temp folders older than an hour: a start that died mid-copy). */
async function prune(cacheDir: string, keep: string): Promise<void> {
  const entries = await readdir(cacheDir, { withFileTypes: true }).catch(() => []);
  const dirs = await Promise.all(entries.filter((e) => e.isDirectory()).map(async (e) => ({ name: e.name, mtime: (await stat(path.join(cacheDir, e.name))).mtimeMs })));
  const builds = dirs.filter((d) => !d.name.includes('.tmp-')).sort((a, b) => b.mtime - a.mtime);
  const old = [...builds.slice(KEEP).filter((d) => d.name !== keep), ...dirs.filter((d) => d.name.includes('.tmp-') && Date.now() - d.mtime > 3_600_000)];
  await Promise.all(old.map((d) => rm(path.join(cacheDir, d.name), { recursive: true, force: true })));
}

/**
 * The built web app, building it first when its sources changed since the last build of this checkout.
 * @example const app = await ensureWebApp({ onBuild: () => console.error('building web app…') }); if ('dir' in app) serve(app.dir);
 */
export async function ensureWebApp(options: WebAppOptions = {}): Promise<WebAppResult> {
  const started = performance.now();
  const sources = options.sources ?? WEB_SOURCES;
  const cacheDir = options.cacheDir ?? CACHE;
  if (!existsSync(path.join(sources, 'package.json'))) return { missing: `${sources} does not exist (or has no package.json)` };
  const hash = await webSourceHash(sources, options.lockFile ?? path.join(ROOT, 'package-lock.json'), options.shared);
  const target = path.join(cacheDir, hash);
  const done = (built: boolean): WebAppResult => ({ dir: target, built, ms: Math.round(performance.now() - started) });
  if (existsSync(path.join(target, 'index.html'))) return done(false);
  await mkdir(cacheDir, { recursive: true });
  // One build at a time per checkout; the lock is refreshed while held, and one left by a dead process goes stale.
  // A lock lost while held (a laptop suspended mid-build) is not worth a crash: another start may build the same
  // hash meanwhile, and each build is renamed into place whole.
  const release = await lockfile.lock(cacheDir, {
    lockfilePath: path.join(cacheDir, 'build.lock'),
    stale: 30_000,
    retries: { retries: 1200, minTimeout: 250, maxTimeout: 500 },
    onCompromised: (err) => console.warn(`web app build lock lost (${err.message}); going on`),
  });
  try {
    if (existsSync(path.join(target, 'index.html'))) return done(false);
    options.onBuild?.();
    const { code, output } = await (options.build ?? npmBuild)(sources);
    const built = path.join(sources, 'build');
    if (code !== 0) return { failed: `\`npm run build\` in ${sources} exited with code ${code}`, output };
    if (!existsSync(path.join(built, 'index.html'))) return { failed: `the build left no ${path.join(built, 'index.html')}`, output };
    const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
    await cp(built, tmp, { recursive: true });
    // Only a folder left by hand could stand here (renames are whole): it is replaced.
    await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
    await prune(cacheDir, hash);
    return done(true);
  } finally {
    await release().catch(() => {});
  }
}
