/** Admin credentials for the management API (basic auth as `admin`, or the password as a bearer token or `x-api-key`), password from the environment or the data dir. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { readOrCreatePrivate } from './data-dir.ts';
import { UnauthorizedError } from './errors.ts';
import { sessionCookie, type Sessions } from './session.ts';

/** Returns `SPINDLE_ADMIN_PASSWORD` if given, else the one in `<dataDir>/admin-password`, generating it (mode 0600) on first start. */
export async function loadAdminPassword(dataDir: string, fromEnv: string | undefined): Promise<string> {
  if (fromEnv) return fromEnv;
  return readOrCreatePrivate(join(dataDir, 'admin-password'), () => randomBytes(18).toString('base64url'));
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The one check that decides whether a request is the admin's: `Authorization: Basic` with user `admin` and the
 * admin password, or the password alone as `Authorization: Bearer <password>` or `x-api-key: <password>` (how
 * LangGraph Platform clients such as `@langchain/langgraph-sdk` send a key), or, with neither, the web app's
 * session cookie (given `sessions`; a method that changes something also needs its CSRF token, see session.ts).
 * Throws UnauthorizedError (or a 403 for a missing CSRF token) otherwise.
 * @example
 * const check = adminAuth(password, sessions);
 * app.addHook('onRequest', async (req) => check(req.headers, req.method));
 */
export function adminAuth(password: string, sessions?: Sessions): (headers: IncomingHttpHeaders, method?: string) => void {
  const expected = digest(`admin:${password}`);
  const expectedKey = digest(password);
  const same = (given: string, want: Buffer) => timingSafeEqual(digest(given), want);
  return (headers, method = 'POST') => {
    // Credentials sent with the request win; the cookie counts only without them (a browser sends it everywhere).
    if (sessions && headers['x-api-key'] === undefined && headers.authorization === undefined && sessionCookie(headers) !== undefined) {
      sessions.authorize(headers, method);
      return;
    }
    const key = headers['x-api-key'];
    if (typeof key === 'string' && key !== '') {
      if (!same(key, expectedKey)) throw new UnauthorizedError('invalid credentials for the management API');
      return;
    }
    const header = headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (bearer) {
      if (!same(bearer[1], expectedKey)) throw new UnauthorizedError('invalid credentials for the management API');
      return;
    }
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m) throw new UnauthorizedError();
    if (!same(Buffer.from(m[1], 'base64').toString('utf8'), expected)) throw new UnauthorizedError('invalid credentials for the management API');
  };
}
