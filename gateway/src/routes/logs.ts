/**
 * `GET /system/logs`: newline-delimited JSON log lines, streamed while `follow=true` (what faas-cli reads), or
 * Server-Sent Events for a caller that accepts `text/event-stream`. Each line carries a cursor; `after=<cursor>`
 * (or `Last-Event-ID`) resumes a follow that lost its connection with the next line, so none is lost or repeated.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import { BadRequestError, NotFoundError } from '../errors.ts';
import { Followers } from '../follow.ts';
import type { FunctionService } from '../functions.ts';
import { type LogEntry, LogHub } from '../logs.ts';
import { openSse } from '../sse.ts';
import { checkNamespace, functionName } from './validate.ts';

interface LogQuery {
  name?: string;
  namespace?: string;
  follow?: string;
  tail?: string;
  since?: string;
  after?: string;
}

/** Where the lines of one answer go. */
interface LineSink {
  write(entry: LogEntry): void;
  end(): void;
  onClose(fn: () => void): void;
}

/** NDJSON, OpenFaaS's format: one JSON object a line; a blank line is the ping. Undefined for HEAD. */
function ndjson(followers: Followers, req: IncomingMessage, res: ServerResponse, follow: boolean): LineSink | undefined {
  if (res.destroyed) return undefined;
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  // Send the headers now: a follower with nothing to replay must not wait for the first line.
  res.flushHeaders();
  // HEAD: no lines, and nothing to follow.
  if (req.method === 'HEAD') return void res.end();
  if (follow) followers.follow(req, res, { ping: () => res.write('\n') });
  const open = () => !res.writableEnded && !res.destroyed;
  return {
    write: (entry) => void (open() && res.write(`${JSON.stringify(entry)}\n`)),
    end: () => res.end(),
    onClose: (fn) => (res.destroyed ? fn() : void res.once('close', fn)),
  };
}

/** Server-Sent Events: one `log` event a line, its id the line's cursor (for EventSource's Last-Event-ID). */
function eventStream(followers: Followers, req: IncomingMessage, res: ServerResponse): LineSink | undefined {
  const sse = openSse(followers, req, res, 'spindle logs');
  if (!sse) return undefined;
  return {
    write: (entry) => sse.send({ id: entry.cursor, event: 'log', data: JSON.stringify(entry) }),
    end: () => sse.end(),
    onClose: (fn) => sse.onClose(fn),
  };
}

export function logRoutes(functions: FunctionService, logs: LogHub): FastifyPluginAsync {
  return async (app) => {
    const followers = new Followers(app);

    app.get<{ Querystring: LogQuery }>('/system/logs', async (req, reply) => {
      const name = functionName(req.query.name ?? '');
      checkNamespace(req.query.namespace);
      if (!functions.lookup(name)) throw new NotFoundError(`function "${name}" is not deployed`);
      const tail = req.query.tail === undefined || req.query.tail === '' ? -1 : Number(req.query.tail);
      if (!Number.isInteger(tail)) throw new BadRequestError(`query "tail" must be a whole number, got "${req.query.tail}"`);
      let since: Date | undefined;
      if (req.query.since) {
        since = new Date(req.query.since);
        if (Number.isNaN(since.getTime())) throw new BadRequestError(`query "since" must be an RFC 3339 time, got "${req.query.since}"`);
      }
      const lastEventId = req.headers['last-event-id'];
      const after = req.query.after || (typeof lastEventId === 'string' && lastEventId) || undefined;
      if (after !== undefined && !LogHub.isCursor(after)) {
        throw new BadRequestError(`query "after" (or Last-Event-ID) must be the cursor of a log line, like "0a1b2c3d-42", got "${after}"`);
      }
      const follow = req.query.follow === 'true' || req.query.follow === '1';
      reply.hijack();
      const wantsSse = /\btext\/event-stream\b/.test(req.headers.accept ?? '');
      const sink = wantsSse ? eventStream(followers, req.raw, reply.raw) : ndjson(followers, req.raw, reply.raw, follow);
      if (!sink) return;
      // History, then live lines: both happen in this same tick, so no line falls between them.
      for (const entry of logs.history(name, { tail, since, after })) sink.write(entry);
      if (!follow) return void sink.end();
      sink.onClose(logs.follow(name, (entry) => sink.write(entry)));
    });
  };
}
