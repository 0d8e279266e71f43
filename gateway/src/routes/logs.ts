/** `GET /system/logs`: newline-delimited JSON log lines, streamed while `follow=true` (what faas-cli reads). */
import type { FastifyPluginAsync } from 'fastify';
import { endOnCallerFin } from '../caller.ts';
import { BadRequestError, NotFoundError } from '../errors.ts';
import type { FunctionService } from '../functions.ts';
import type { LogHub } from '../logs.ts';
import { functionName } from './validate.ts';

interface LogQuery {
  name?: string;
  follow?: string;
  tail?: string;
  since?: string;
}

export function logRoutes(functions: FunctionService, logs: LogHub): FastifyPluginAsync {
  return async (app) => {
    // Followed streams never end by themselves: end them when the server closes, or Ctrl-C would wait on them.
    const open = new Set<import('node:http').ServerResponse>();
    app.addHook('preClose', async () => {
      for (const res of open) res.end();
    });

    app.get<{ Querystring: LogQuery }>('/system/logs', async (req, reply) => {
      const name = functionName(req.query.name ?? '');
      if (!functions.lookup(name)) throw new NotFoundError(`function "${name}" is not deployed`);
      const tail = req.query.tail === undefined || req.query.tail === '' ? -1 : Number(req.query.tail);
      if (!Number.isInteger(tail)) throw new BadRequestError(`query "tail" must be a whole number, got "${req.query.tail}"`);
      let since: Date | undefined;
      if (req.query.since) {
        since = new Date(req.query.since);
        if (Number.isNaN(since.getTime())) throw new BadRequestError(`query "since" must be an RFC 3339 time, got "${req.query.since}"`);
      }
      const follow = req.query.follow === 'true' || req.query.follow === '1';
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
      // Send the headers now: a follower with nothing to replay must not wait for the first line.
      res.flushHeaders();
      // HEAD: no lines, and nothing to follow.
      if (req.method === 'HEAD') return void res.end();
      for (const entry of logs.history(name, tail, since)) res.write(`${JSON.stringify(entry)}\n`);
      if (!follow) return void res.end();
      const stop = logs.follow(name, (entry) => res.write(`${JSON.stringify(entry)}\n`));
      const ping = setInterval(() => res.write('\n'), 15_000);
      open.add(res);
      res.on('close', () => {
        open.delete(res);
        stop();
        clearInterval(ping);
      });
      endOnCallerFin(req.raw, res);
    });
  };
}
