/** `npm start` on one machine: a local redis-server when none answers, and the GPU runner as a child process. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port }, () => (s.end(), resolve(true)));
    s.on('error', () => resolve(false));
    s.setTimeout(500, () => (s.destroy(), resolve(false)));
  });
}

/**
 * Makes sure Redis answers at `url`: when nothing does on a loopback address and `redis-server` is
 * installed, starts one under `<dataDir>/redis`; otherwise says what to install. Returns the child it started.
 */
export async function ensureRedis(url: string, dataDir: string, logger: Logger): Promise<ChildProcess | null> {
  const u = new URL(url);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 6379);
  if (await answers(host, port)) return null;
  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(host);
  const installed = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!loopback || !installed) {
    const what = loopback ? 'install it (Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install redis`)' : `start Redis there or set REDIS_URL`;
    logger.warn({ url }, `Redis is not reachable at ${url}: GPU functions answer 503 until it is; ${what}`);
    process.stderr.write(`warning: Redis is not reachable at ${url}; GPU functions are off until it is: ${what}\n`);
    return null;
  }
  const dir = join(dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
  for (let i = 0; i < 50 && !(await answers(host, port)); i++) await new Promise((r) => setTimeout(r, 100));
  logger.info({ port, dir }, 'started a local redis-server');
  return child;
}

/** Starts the GPU runner (its own process: its own event loop and the GPU); logs go to `logFile`. */
export function startRunnerProcess(env: Record<string, string>, logFile: string, logger: Logger): ChildProcess {
  const main = fileURLToPath(import.meta.resolve('@spindle/gpu-runner/main'));
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', main], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  child.stdout!.on('data', (d: Buffer) => {
    const line = d.toString();
    if (line.includes('gpu-runner ready')) logger.info({ line: line.trim() }, 'GPU runner ready');
  });
  child.on('exit', (code, signal) => logger.warn({ code, signal }, 'GPU runner exited'));
  return child;
}
