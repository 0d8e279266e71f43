/**
 * `npm start` on one machine: Redis and NATS are used where REDIS_URL / NATS_URL point; when nothing
 * answers at a loopback address and the server binary is installed, a local one is started under the
 * data dir; otherwise the message says exactly what to install.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { inheritedEnv } from './child-env.ts';
import { PRIVATE_DIR } from './data-dir.ts';

/** True when something accepts TCP connections at host:port within half a second. */
export function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port }, () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
  });
}

/** A service `npm start` can start itself. */
export interface LocalService {
  /** Shown in messages: "Redis", "NATS". */
  name: string;
  url: string;
  defaultPort: number;
  binary: string;
  /** Command-line arguments for a server on `port` keeping its data in `dir`. */
  args(port: number, dir: string): string[];
  /** How to install the binary, for the message when it is missing. */
  install: string;
  /** What stops working without it, for the message. */
  without: string;
}

/** Returns the child it started, or null when the service already answered (or could not be started). */
export async function ensureService(service: LocalService, dataDir: string, logger: Logger): Promise<ChildProcess | null> {
  const u = new URL(service.url);
  const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = Number(u.port || service.defaultPort);
  if (await answers(host, port)) return null;
  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(host);
  const installed = spawnSync(service.binary, ['--version'], { stdio: 'ignore' }).status === 0;
  if (!loopback || !installed) {
    const what = loopback ? `install it (${service.install})` : `start ${service.name} there or change the URL`;
    logger.warn({ url: service.url }, `${service.name} is not reachable at ${service.url}: ${service.without}; ${what}`);
    process.stderr.write(`warning: ${service.name} is not reachable at ${service.url}; ${service.without} until it is: ${what}\n`);
    return null;
  }
  const dir = join(dataDir, service.binary);
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  // Not the gateway's environment (admin password, keys): the allow-listed basics only.
  const child = spawn(service.binary, service.args(port, dir), { stdio: 'ignore', env: inheritedEnv() });
  for (let i = 0; i < 50 && !(await answers(host, port)); i++) await new Promise((r) => setTimeout(r, 100));
  logger.info({ port, dir }, `started a local ${service.binary}`);
  return child;
}

/** Redis for GPU work. */
export const redisService = (url: string): LocalService => ({
  name: 'Redis',
  url,
  defaultPort: 6379,
  binary: 'redis-server',
  args: (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''],
  install: 'Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install redis`',
  without: 'GPU functions answer 503',
});

/** NATS with JetStream for async invocations and run events across gateways. */
export const natsService = (url: string): LocalService => ({
  name: 'NATS',
  url,
  defaultPort: 4222,
  binary: 'nats-server',
  args: (port, dir) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
  install: 'Debian/Ubuntu: `apt-get install nats-server`; macOS: `brew install nats-server`',
  without: 'async invocations answer 503',
});
