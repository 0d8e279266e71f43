/**
 * Idempotency keys of async calls: a caller's `Idempotency-Key` claims one call id on the status stream
 * (subject `<prefix>.async-key.<sha256 of the key>`, compare-and-set on "no message yet"), so a retry of
 * the same request gets the same call id back instead of a second call. Claims live as long as a status
 * (the stream's max age, the result TTL) from the first request.
 */
import { createHash } from 'node:crypto';
import { pack, unpack } from './envelope.ts';
import { isConflict, type AsyncContext, type AsyncLink } from './link.ts';

/** What a claim records. */
export interface KeyClaim {
  callId: string;
  /** The request's fingerprint (see `requestFingerprint`): a key reused for another request is a 409. */
  request: string;
}

/** What identifies a request across retries: function, method, path and query, callback URL and body bytes. */
export function requestFingerprint(req: { fn: string; method: string; path: string; callbackUrl?: string; body: Buffer }): string {
  const body = createHash('sha256').update(req.body).digest('hex');
  return createHash('sha256').update(JSON.stringify([req.fn, req.method, req.path, req.callbackUrl ?? '', body])).digest('hex');
}

/** Claims and releases idempotency keys. */
export class IdempotencyKeys {
  constructor(private readonly link: AsyncLink) {}

  #subject(key: string): string {
    return this.link.names.keySubject(createHash('sha256').update(key).digest('hex'));
  }

  /** Claims `key` for `claim`; null when this call got it, else the claim made first (by an earlier request). */
  async claim(ctx: AsyncContext, key: string, claim: KeyClaim): Promise<KeyClaim | null> {
    const subject = this.#subject(key);
    for (let turn = 0; ; turn++) {
      try {
        await ctx.js.publish(subject, pack(claim), { expect: { lastSubjectSequence: 0 } });
        return null;
      } catch (err) {
        if (!isConflict(err) || turn >= 3) throw err;
      }
      const m = await ctx.jsm.streams.getMessage(this.link.names.status, { last_by_subj: subject });
      // Gone between the two calls (the first request failed and released it): try to claim it again.
      if (m) return unpack<KeyClaim>(m.data).meta;
    }
  }

  /** Forgets a claim whose call was not queued after all, so a retry may queue it. */
  async release(ctx: AsyncContext, key: string): Promise<void> {
    await ctx.jsm.streams.purge(this.link.names.status, { filter: this.#subject(key) });
  }
}
