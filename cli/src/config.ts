/** Where the CLI finds the gateway URL, the data dir and the admin credentials. */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readStackGateway } from './stack.ts';

export type Env = Record<string, string | undefined>;

/** Where `spindle start` listens by default. */
export const DEFAULT_GATEWAY = 'http://127.0.0.1:8080';
/** The one management user, as in OpenFaaS. */
export const ADMIN_USER = 'admin';

/** Basic-auth credentials and where they came from. */
export interface Credentials {
  user: string;
  password: string;
  source: 'env' | 'login' | 'data-dir';
}

interface CredentialsFile {
  gateways: Record<string, { user: string; password: string }>;
}

/** `http://host:8080/` → `http://host:8080`: one key per gateway however it was typed. */
export function normalizeGateway(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

/** Gateway URL: the flag, then `OPENFAAS_URL`, then stack.yml's `provider.gateway`, then the local default. */
export async function resolveGateway(opts: { flag?: string; env: Env; stackFile?: string }): Promise<string> {
  const fromStack = opts.stackFile ? await readStackGateway(opts.stackFile) : undefined;
  return normalizeGateway(opts.flag || opts.env.OPENFAAS_URL || fromStack || DEFAULT_GATEWAY);
}

/** `$SPINDLE_CONFIG_DIR`, else `~/.spindle`: where `spindle login` keeps credentials. */
export function configDir(env: Env): string {
  return env.SPINDLE_CONFIG_DIR ? path.resolve(env.SPINDLE_CONFIG_DIR) : path.join(os.homedir(), '.spindle');
}

/** `$SPINDLE_DATA_DIR`, else `<stack folder>/.spindle`: build output and the local gateway's admin password. */
export function dataDir(env: Env, stackDir: string): string {
  return env.SPINDLE_DATA_DIR ? path.resolve(env.SPINDLE_DATA_DIR) : path.join(stackDir, '.spindle');
}

function credentialsPath(dir: string): string {
  return path.join(dir, 'credentials.json');
}

async function readCredentialsFile(dir: string): Promise<CredentialsFile> {
  try {
    const parsed = JSON.parse(await readFile(credentialsPath(dir), 'utf8')) as Partial<CredentialsFile>;
    return { gateways: parsed.gateways && typeof parsed.gateways === 'object' ? parsed.gateways : {} };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { gateways: {} };
    throw err;
  }
}

async function writeCredentialsFile(dir: string, content: CredentialsFile): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = credentialsPath(dir);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  return file;
}

/** Stores the login for `gateway` (file mode 0600); returns the file written. */
export async function saveLogin(dir: string, gateway: string, user: string, password: string): Promise<string> {
  const content = await readCredentialsFile(dir);
  content.gateways[normalizeGateway(gateway)] = { user, password };
  return writeCredentialsFile(dir, content);
}

/** Forgets the login for `gateway`; false when there was none. */
export async function removeLogin(dir: string, gateway: string): Promise<boolean> {
  const content = await readCredentialsFile(dir);
  const key = normalizeGateway(gateway);
  if (!content.gateways[key]) return false;
  delete content.gateways[key];
  await writeCredentialsFile(dir, content);
  return true;
}

function isLoopback(gateway: string): boolean {
  try {
    const host = new URL(gateway).hostname;
    return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
  } catch {
    return false;
  }
}

/**
 * Credentials for `gateway`: `SPINDLE_ADMIN_PASSWORD`, then the stored login, then the local data dir's
 * `admin-password` (written by a gateway on its first start; only sent to a loopback gateway).
 */
export async function resolveCredentials(opts: {
  gateway: string;
  env: Env;
  configDir: string;
  dataDir: string;
}): Promise<Credentials | undefined> {
  if (opts.env.SPINDLE_ADMIN_PASSWORD) return { user: ADMIN_USER, password: opts.env.SPINDLE_ADMIN_PASSWORD, source: 'env' };
  const stored = (await readCredentialsFile(opts.configDir)).gateways[normalizeGateway(opts.gateway)];
  if (stored?.password) return { user: stored.user || ADMIN_USER, password: stored.password, source: 'login' };
  if (!isLoopback(opts.gateway)) return undefined;
  try {
    const password = (await readFile(path.join(opts.dataDir, 'admin-password'), 'utf8')).trim();
    if (password) return { user: ADMIN_USER, password, source: 'data-dir' };
  } catch {
    // No local gateway has started here yet.
  }
  return undefined;
}
