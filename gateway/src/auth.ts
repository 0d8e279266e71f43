/** Basic auth for the management API: user `admin`, password from the environment or the data dir. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnauthorizedError } from './errors.ts';

/** Returns `SPINDLE_ADMIN_PASSWORD` if given, else the one in `<dataDir>/admin-password`, generating it (mode 0600) on first start. */
export async function loadAdminPassword(dataDir: string, fromEnv: string | undefined): Promise<string> {
  if (fromEnv) return fromEnv;
  const file = join(dataDir, 'admin-password');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const password = randomBytes(18).toString('base64url');
    await writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' }).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    return (await readFile(file, 'utf8')).trim();
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Builds a checker for `Authorization` headers; throws UnauthorizedError unless they carry admin's credentials. */
export function basicAuth(user: string, password: string): (header: string | undefined) => void {
  const expected = digest(`${user}:${password}`);
  return (header) => {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
    if (!m) throw new UnauthorizedError();
    const given = digest(Buffer.from(m[1], 'base64').toString('utf8'));
    if (!timingSafeEqual(given, expected)) throw new UnauthorizedError('invalid credentials for the management API');
  };
}
