/** The reconnect loop of followed streams, against scripted connections (tests/sse-resume.test.ts cuts real ones). */
import { describe, expect, it } from 'vitest';
import { GatewayError, GatewayUnreachableError, StreamDroppedError, StreamLostError } from './errors.ts';
import { follow, type Reconnect } from './follow.ts';

const fast = { minMs: 1, maxMs: 2 };
const dropped = () => new StreamDroppedError('test stream', new Error('other side closed'));

/** A connection that yields `items` and then throws `end` (or ends cleanly). */
async function* connection(items: number[], end?: unknown): AsyncGenerator<number> {
  for (const i of items) yield i;
  if (end) throw end;
}

async function collect(gen: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const i of gen) out.push(i);
  return out;
}

describe('follow', () => {
  it('reopens a dropped stream after the last item delivered, so each item comes once', async () => {
    const cursors: Array<string | undefined> = [];
    const script = [connection([1, 2], dropped()), connection([], new GatewayUnreachableError('http://x', new Error('ECONNREFUSED'))), connection([3], dropped()), connection([4, 5])];
    const reconnects: Reconnect[] = [];
    const items = await collect(
      follow(
        (cursor) => {
          cursors.push(cursor);
          return script.shift()!;
        },
        { what: 'test stream', cursorOf: (i) => String(i), finished: () => true, backoff: fast, onReconnect: (r) => reconnects.push(r) },
      ),
    );
    expect(items).toEqual([1, 2, 3, 4, 5]);
    expect(cursors).toEqual([undefined, '2', '2', '3']);
    // The refused connection brought nothing: the second attempt in a row; the one that brought 3 starts the count again.
    expect(reconnects.map((r) => r.attempt)).toEqual([1, 2, 1]);
    expect(reconnects[0]!.reason).toBeInstanceOf(StreamDroppedError);
  });

  it('reopens a stream the server ended early, until `finished` says it is complete', async () => {
    const script = [connection([1]), connection([2])];
    let asked = 0;
    const items = await collect(follow(() => script.shift()!, { what: 'test stream', cursorOf: (i) => String(i), finished: () => ++asked === 2, backoff: fast }));
    expect(items).toEqual([1, 2]);
    expect(asked).toBe(2);
  });

  it('gives up after `attempts` failed connections in a row, naming the last failure', async () => {
    let opened = 0;
    const gen = follow(
      () => {
        opened++;
        return connection([], new GatewayError(503, 'draining'));
      },
      { what: 'the events of run r1', cursorOf: (i) => String(i), finished: () => true, attempts: 3, backoff: fast },
    );
    const err = await collect(gen).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamLostError);
    expect((err as Error).message).toBe('lost the events of run r1 and could not resume after 3 attempts: draining');
    expect(opened).toBe(4);
  });

  it('throws at once what a new connection cannot mend: a 4xx, a malformed item', async () => {
    const notFound = new GatewayError(404, 'run "r1" does not exist');
    await expect(collect(follow(() => connection([1], notFound), { what: 'x', cursorOf: String, finished: () => true, backoff: fast }))).rejects.toBe(notFound);
    const bad = new SyntaxError('Unexpected token');
    await expect(collect(follow(() => connection([], bad), { what: 'x', cursorOf: String, finished: () => true, backoff: fast }))).rejects.toBe(bad);
  });

  it('stops waiting to reconnect when the signal aborts', async () => {
    const abort = new AbortController();
    const gen = follow(() => connection([1], dropped()), {
      what: 'x',
      cursorOf: String,
      finished: () => false,
      backoff: { minMs: 60_000, maxMs: 60_000 },
      signal: abort.signal,
      onReconnect: () => setTimeout(() => abort.abort(), 10),
    });
    const started = Date.now();
    const err = await collect(gen).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
