/** Followed responses (SSE run events, NDJSON log lines): kept open with pings, ended when the caller or the server goes. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { endOnCallerFin } from './caller.ts';

/** How often an idle followed response writes a ping, so that proxies keep it open and a dead peer is noticed. */
const PING_MS = 15_000;

/** What a followed response writes as a ping, and what it releases once closed. */
export interface FollowOptions {
  /** Writes one ping (a comment for SSE, a blank line for NDJSON). */
  ping(): void;
  /** Called once when the response closes, whoever closed it. */
  onClose?(): void;
}

/**
 * The followed responses of one plugin scope. A followed response never ends by itself: this ends every open
 * one when the server closes (else Ctrl-C would wait on them) and each one when its caller closes its side.
 * @example
 * const followers = new Followers(app);
 * followers.follow(req.raw, reply.raw, { ping: () => reply.raw.write('\n'), onClose: stop });
 */
export class Followers {
  private readonly open = new Set<ServerResponse>();

  constructor(app: FastifyInstance) {
    app.addHook('preClose', async () => {
      for (const res of this.open) res.end();
    });
  }

  /** Keeps `res` open until the caller, the stream's own end or the server's close ends it; pings it meanwhile. */
  follow(req: IncomingMessage, res: ServerResponse, opts: FollowOptions): void {
    // A caller that left while the route was still reading the store: its 'close' has gone by already.
    if (res.destroyed) return void opts.onClose?.();
    const ping = setInterval(() => opts.ping(), PING_MS);
    this.open.add(res);
    res.once('close', () => {
      this.open.delete(res);
      clearInterval(ping);
      opts.onClose?.();
    });
    endOnCallerFin(req, res);
  }
}
