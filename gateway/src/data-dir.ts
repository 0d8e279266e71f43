/** The data dir is its owner's alone: folders 0700, files 0600, whoever writes them. */
import { randomBytes } from 'node:crypto';
import { chmod, link, lstat, mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import type { Logger } from 'pino';

/** Mode of every folder the gateway creates under the data dir. */
export const PRIVATE_DIR = 0o700;
/** Mode of every file the gateway creates under the data dir. */
export const PRIVATE_FILE = 0o600;

/**
 * Makes `dataDir` private before anything is written to it, and is safe to call again. The process
 * umask gains 077, so what libraries and child processes create there (PGlite's WAL and tables, Redis
 * and NATS files) is owner-only as well as what Spindle writes with explicit modes. A data dir that an
 * older version left readable by others is tightened (group and other bits removed throughout), with a
 * warning in the log.
 */
export async function makeDataDirPrivate(dataDir: string, logger: Logger): Promise<void> {
  restrictUmask(logger);
  await mkdir(dataDir, { recursive: true, mode: PRIVATE_DIR });
  const { changed, failed } = await makePrivate(dataDir);
  if (changed > 0) {
    logger.warn({ dataDir, entries: changed }, `data dir ${dataDir} was readable by other users; made it private (folders 0700, files 0600)`);
  }
  if (failed.length > 0) logger.warn({ dataDir, paths: failed.slice(0, 10), count: failed.length }, `could not make everything in data dir ${dataDir} private`);
}

/** Adds 077 to the process umask; only the main thread may change it, so in a worker thread the explicit modes stand alone. */
export function restrictUmask(logger?: Logger): void {
  if (!isMainThread) {
    logger?.warn('the gateway runs in a worker thread and cannot set the umask: files other libraries create keep their modes');
    return;
  }
  // process.umask() without an argument is deprecated (it sets and restores); setting returns the old one.
  const old = process.umask(0o077);
  if ((old | 0o077) !== 0o077) process.umask(old | 0o077);
}

/**
 * Removes group and other bits from `path` and everything under it; links are left alone (and not
 * followed). Returns how many entries changed, and the paths it could not change.
 */
export async function makePrivate(path: string): Promise<{ changed: number; failed: string[] }> {
  return tighten(path, { changed: 0, failed: [] });
}

async function tighten(path: string, result: { changed: number; failed: string[] }): Promise<{ changed: number; failed: string[] }> {
  try {
    const st = await lstat(path);
    if (st.isSymbolicLink()) return result;
    if ((st.mode & 0o077) !== 0) {
      await chmod(path, st.mode & 0o700);
      result.changed++;
    }
    if (st.isDirectory()) for (const name of await readdir(path)) await tighten(join(path, name), result);
  } catch (err) {
    // Gone since readdir (a server rotating a file) is fine; anything else is reported.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') result.failed.push(path);
  }
  return result;
}

/**
 * The trimmed text of the private file `file`, made with `make()` (mode 0600) when it does not exist yet. The
 * file appears whole or not at all: it is written to a temporary name and linked into place, so a gateway
 * starting beside another, or after a crash mid-write, never reads an empty or partial key. A file that is
 * there but empty is refused with a message naming it (a key or password must never silently be "").
 */
export async function readOrCreatePrivate(file: string, make: () => string): Promise<string> {
  const read = async () => {
    const text = (await readFile(file, 'utf8')).trim();
    if (!text) throw new Error(`${file} is empty: remove it and start again to make a new one`);
    return text;
  };
  try {
    return await read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, `${make()}\n`, { mode: PRIVATE_FILE, flag: 'wx' });
  try {
    // link() fails with EEXIST when another process got there first: then both read its file.
    await link(temp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } finally {
    await unlink(temp).catch(() => {});
  }
  return read();
}
