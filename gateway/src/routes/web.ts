/**
 * The web app at `/ui` (public: the app logs in through `/system/login`, and every number it shows comes from
 * the API). Files of the built app with @fastify/static: `/ui/_app/immutable/*` cached for a year (their
 * names carry a hash), everything else revalidated (`no-cache`), and any other `/ui/*` path answered with
 * `index.html` so the app's own router takes it (SPA fallback). Without a built app, a 503 page says how
 * to get one. `GET /` sends browsers (Accept: text/html) to `/ui`; API clients still get the 404 they got.
 */
import { stat } from 'node:fs/promises';
import { extname, normalize, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError } from '../errors.ts';
import { errorBody, renderError } from '../render.ts';
import { HOW_TO_BUILD, type WebApp } from '../web/app.ts';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
/** Headers every answer under /ui carries: no framing by other sites, no MIME sniffing. */
const SAFE_HEADERS = { 'x-content-type-options': 'nosniff', 'content-security-policy': "frame-ancestors 'none'", 'referrer-policy': 'same-origin' };

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page `/ui` answers while there is no app to serve. */
function unavailablePage(reply: FastifyReply, title: string, text: string, refresh: boolean): FastifyReply {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Spindle: ${escapeHtml(title)}</title>${refresh ? '<meta http-equiv="refresh" content="3">' : ''}
<meta name="viewport" content="width=device-width"><style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}code{background:#8882;padding:0 .2em}</style></head>
<body><h1>${escapeHtml(title)}</h1><p>${text}</p><p>The API works meanwhile: <code>curl http://HOST/system/functions</code>, <code>npx spindle list</code>.</p></body></html>\n`;
  return reply
    .code(503)
    .headers({ ...SAFE_HEADERS, 'cache-control': 'no-store', 'retry-after': refresh ? '3' : '30' })
    .type('text/html; charset=utf-8')
    .send(html);
}

/** The file under the app's folder that `rest` names, or null (none, a folder, or a path leaving the folder). */
async function fileOf(dir: string, rest: string): Promise<string | null> {
  let rel: string;
  try {
    rel = normalize(decodeURIComponent(rest)).replace(/^[/\\]+/, '');
  } catch {
    return null;
  }
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || rel.includes('\0')) return null;
  const info = await stat(`${dir}${sep}${rel}`).catch(() => null);
  return info?.isFile() ? rel : null;
}

/** Serves the web app from `web`'s current folder. */
export function webRoutes(web: WebApp): FastifyPluginAsync {
  return async (app) => {
    await app.register(fastifyStatic, { serve: false });

    const serve = async (req: FastifyRequest<{ Params: { '*'?: string } }>, reply: FastifyReply) => {
      const state = web.state;
      if (state.kind === 'building') return unavailablePage(reply, 'The web app is being built', 'This page reloads by itself in a few seconds.', true);
      if (state.kind === 'unavailable') {
        return unavailablePage(reply, 'The web app is not built', `${escapeHtml(state.reason)}.<br>${escapeHtml(HOW_TO_BUILD).replace(/`([^`]+)`/g, '<code>$1</code>')}.`, false);
      }
      const rest = (req.params['*'] ?? '').split('?')[0];
      const file = await fileOf(state.dir, rest);
      reply.headers(SAFE_HEADERS);
      if (file) {
        const immutable = file.startsWith(`_app${sep}immutable${sep}`);
        reply.header('cache-control', immutable ? IMMUTABLE : REVALIDATE);
        return reply.sendFile(file, state.dir, { cacheControl: false });
      }
      // A missing build asset (or any path naming a file) is a 404: an HTML page in its place would be run as a
      // script or a style and fail in a confusing way. Every other path is a route of the app.
      if (rest.startsWith('_app/') || extname(rest) !== '') {
        const r = renderError(new NotFoundError(`the web app has no file /ui/${rest.slice(0, 200)}`));
        return reply.code(r.status).header('cache-control', REVALIDATE).type('application/json; charset=utf-8').send(errorBody(r));
      }
      reply.header('cache-control', REVALIDATE);
      return reply.sendFile('index.html', state.dir, { cacheControl: false });
    };

    app.route({ method: ['GET', 'HEAD'], url: '/ui', handler: serve });
    app.route({ method: ['GET', 'HEAD'], url: '/ui/*', handler: serve });

    // A person who opens the gateway's address gets the app; curl and API clients keep the JSON 404.
    app.route({
      method: ['GET', 'HEAD'],
      url: '/',
      handler: async (req, reply) => {
        if (/\btext\/html\b/.test(req.headers.accept ?? '')) return reply.redirect('/ui', 302);
        throw new NotFoundError(`no route for ${req.method} /`);
      },
    });
  };
}
