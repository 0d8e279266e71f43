/**
 * Web app sessions: `POST /system/login` (JSON `{"password"}` or a form) sets the signed `spindle_session`
 * cookie (HttpOnly, SameSite=Strict, Secure over https), `POST /system/logout` clears it, and
 * `GET /system/session` says who is logged in, until when, and the CSRF token to send with changes.
 * Login attempts are rate limited per client address (@fastify/rate-limit) against password guessing.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError, TooManyRequestsError, UnauthorizedError } from '../errors.ts';
import { checkOrigin, SESSION_COOKIE, sessionCookie, viaHttps, type Sessions } from '../session.ts';

/** Login attempts one client address may make per minute. */
export const LOGIN_ATTEMPTS_PER_MINUTE = 10;

const digest = (s: string) => createHash('sha256').update(s).digest();

/** What the session routes need. */
export interface SessionRoutesDeps {
  sessions: Sessions;
  adminPassword: string;
}

function cookieOptions(req: FastifyRequest) {
  return { httpOnly: true, sameSite: 'strict' as const, path: '/', secure: viaHttps(req) };
}

/** Login, logout and the session's view (public routes: they are how a browser authenticates). */
export function sessionRoutes(deps: SessionRoutesDeps): FastifyPluginAsync {
  const expected = digest(deps.adminPassword);
  return async (app) => {
    await app.register(cookie);
    await app.register(formbody, { bodyLimit: 4096 });
    await app.register(rateLimit, {
      global: false,
      errorResponseBuilder: (_req, ctx) => new TooManyRequestsError(`too many login attempts from this address: at most ${ctx.max} a minute; retry in ${Math.ceil(ctx.ttl / 1000)} s`, Math.ceil(ctx.ttl / 1000)),
    });

    app.post('/system/login', { config: { rateLimit: { max: LOGIN_ATTEMPTS_PER_MINUTE, timeWindow: 60_000 } }, bodyLimit: 4096 }, async (req, reply) => {
      checkOrigin(req.headers);
      const body = req.body as { password?: unknown } | null | undefined;
      if (!body || typeof body !== 'object' || typeof body.password !== 'string') {
        throw new BadRequestError('field "password" is required: send {"password": "..."} as JSON or password=... as a form');
      }
      if (!timingSafeEqual(digest(body.password), expected)) throw new UnauthorizedError('wrong password for user "admin"', false);
      const { cookie, expiresAt } = deps.sessions.issue();
      return reply
        .setCookie(SESSION_COOKIE, cookie, { ...cookieOptions(req), maxAge: Math.floor(deps.sessions.ttlMs / 1000), expires: expiresAt })
        .header('cache-control', 'no-store')
        .code(204)
        .send();
    });

    app.post('/system/logout', async (req, reply) => {
      // A logged-in browser's logout is a change like any other: it needs the CSRF token.
      const cookie = sessionCookie(req.headers);
      if (deps.sessions.read(cookie)) {
        deps.sessions.authorize(req.headers, req.method);
        deps.sessions.revoke(cookie);
      }
      return clear(req, reply).code(204).send();
    });

    app.get('/system/session', async (req, reply) => {
      const session = deps.sessions.read(sessionCookie(req.headers));
      if (!session) throw new UnauthorizedError('not logged in: POST /system/login with the admin password', false);
      return reply.header('cache-control', 'no-store').send(session);
    });
  };
}

function clear(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.clearCookie(SESSION_COOKIE, cookieOptions(req)).header('cache-control', 'no-store');
}
