/**
 * Followed streams (run events, log lines): reading a body that may break off, and reconnecting after a drop
 * from the cursor of the last item delivered, so that each item is delivered once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type Backoff } from '@spindle/schemas';
import { GatewayError, GatewayUnreachableError, StreamDroppedError, StreamLostError } from './errors.ts';

/**
 * The chunks of a response body; a body that breaks off (connection reset, cut mid-chunk) throws a
 * StreamDroppedError naming `what`. Aborting (Ctrl-C) still throws the AbortError.
 */
export async function* bodyChunks(body: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of body) yield chunk;
  } catch (err) {
    if (err instanceof Error && err.name === 'AbortError') throw err;
    throw new StreamDroppedError(what, err);
  }
}

/** True for a failure that a new connection may not meet: the stream dropped, nothing answered, or a 5xx. */
function isTransient(err: unknown): boolean {
  return err instanceof StreamDroppedError || err instanceof GatewayUnreachableError || (err instanceof GatewayError && (err.status >= 500 || err.status === 429));
}

/** What one reconnection is about to do, for a "reconnecting…" line. */
export interface Reconnect {
  /** 1 for the first reconnection after a healthy connection. */
  attempt: number;
  attempts: number;
  delayMs: number;
  /** Why the last connection ended. */
  reason: unknown;
}

/** Options of `follow`. */
export interface FollowOptions<T> {
  /** What is followed, for messages ("the events of run 42"). */
  what: string;
  /** The cursor to resume after `item` (its event id, its log cursor). */
  cursorOf(item: T): string | undefined;
  /** Asked when a stream ends cleanly: true when nothing more will come, false to reconnect (the server closed). */
  finished(): boolean | Promise<boolean>;
  /** Called before each wait to reconnect. */
  onReconnect?(r: Reconnect): void;
  signal?: AbortSignal;
  /** Failed connections in a row before giving up (default 8). */
  attempts?: number;
  /** Waits between them (default 250 ms doubling to 5 s, equal jitter). */
  backoff?: Backoff;
  /** A connection that delivered an item, or stayed open this long, was healthy: the count starts again (default 10 s). */
  healthyMs?: number;
}

const DEFAULT_BACKOFF: Backoff = { minMs: 250, maxMs: 5_000 };

/**
 * Reads `open(cursor)` and, when its connection drops or the server ends it early, opens it again after the
 * last item delivered (`cursor` is undefined for the first connection, and while no item has come): each item
 * is delivered once, in order. Gives up with a StreamLostError after `attempts` failed connections in a row;
 * a failure that retrying cannot mend (a 4xx, a malformed item) is thrown at once.
 * @example
 * const events = follow((cursor) => runStream(client, id, cursor), { what: `run ${id}`, cursorOf: (e) => String(e.seq), finished: () => true });
 * for await (const e of events) console.log(e.type);
 */
export async function* follow<T>(open: (cursor: string | undefined) => AsyncIterable<T>, opts: FollowOptions<T>): AsyncGenerator<T> {
  const attempts = opts.attempts ?? 8;
  const healthyMs = opts.healthyMs ?? 10_000;
  let cursor: string | undefined;
  let failures = 0;
  for (;;) {
    const openedAt = Date.now();
    let delivered = false;
    let reason: unknown;
    try {
      for await (const item of open(cursor)) {
        delivered = true;
        cursor = opts.cursorOf(item) ?? cursor;
        yield item;
      }
      if (await opts.finished()) return;
      reason = new StreamDroppedError(opts.what, new Error('the gateway ended the stream early'));
    } catch (err) {
      if (opts.signal?.aborted || !isTransient(err)) throw err;
      reason = err;
    }
    failures = delivered || Date.now() - openedAt >= healthyMs ? 1 : failures + 1;
    if (failures > attempts) throw new StreamLostError(opts.what, attempts, reason);
    const delayMs = backoffDelay(failures, opts.backoff ?? DEFAULT_BACKOFF);
    opts.onReconnect?.({ attempt: failures, attempts, delayMs, reason });
    await sleep(delayMs, undefined, { signal: opts.signal });
  }
}

/** The one-line notice a command prints on stderr before it reconnects. */
export function reconnectingLine(r: Reconnect): string {
  const reason = r.reason instanceof Error ? r.reason.message : String(r.reason);
  return `reconnecting… (attempt ${r.attempt} of ${r.attempts}, in ${(r.delayMs / 1000).toFixed(1)} s): ${reason}`;
}
