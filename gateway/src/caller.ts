/** Telling a caller that left apart from a server failure (shared by every route that answers a caller). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ClientClosedError, SpindleError } from './errors.ts';

/**
 * True when the caller is gone before its answer was sent: it reset the connection, or closed it before its
 * request was complete. A caller that only half-closed (sent FIN after a complete request) has not left: it
 * still reads the answer (see `httpAllowHalfOpen` in server.ts).
 */
export function callerLeft(req: IncomingMessage): boolean {
  return req.socket?.destroyed === true || (req.destroyed && !req.complete);
}

/**
 * `err` as the catalogue error a route throws: a ClientClosedError (499, logged at debug, never counted as a
 * 5xx) when the failure is the caller leaving, else `err` unchanged.
 */
export function unlessCallerLeft<E>(req: IncomingMessage, err: E): E | ClientClosedError {
  if (err instanceof SpindleError && err.statusCode < 500) return err;
  return err instanceof ClientClosedError || callerLeft(req) ? new ClientClosedError(undefined, err) : err;
}

/**
 * Ends a response that never ends by itself (a followed stream) once the caller closes its side of the
 * connection. Half-closed sockets are kept open for the answer (server.ts), so without this a follower that
 * left would only be noticed at the first write that fails, up to two pings later.
 */
export function endOnCallerFin(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  if (socket.readableEnded) return void res.end();
  const end = () => res.end();
  socket.once('end', end);
  res.once('close', () => socket.removeListener('end', end));
}
