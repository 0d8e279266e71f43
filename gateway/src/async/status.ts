/**
 * Call statuses: the latest record of each call on the status stream (one message per subject, max age = the
 * result TTL). Transitions that race (a worker starting, a caller cancelling) are compare-and-set on the
 * subject's last sequence, so exactly one of them wins.
 */
import type { AsyncContext, AsyncLink } from './link.ts';
import { pack, unpack } from './envelope.ts';
import type { Bodies } from './bodies.ts';
import type { StatusMeta } from './types.ts';

/** A status as read, with the sequence a compare-and-set needs. */
export interface StatusEntry {
  meta: StatusMeta;
  /** The result body when it is stored inline. */
  body: Buffer;
  seq: number;
}

/** True once a call will not run again (unless redriven). */
export function isFinal(state: StatusMeta['state']): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}

/** Reads and writes call statuses on the status stream. */
export class StatusStore {
  constructor(
    private readonly link: AsyncLink,
    private readonly bodies: Bodies,
  ) {}

  /** The latest status of `callId`, or null (unknown, or older than the result TTL). */
  async get(ctx: AsyncContext, callId: string): Promise<StatusEntry | null> {
    const m = await ctx.jsm.streams.getMessage(this.link.names.status, { last_by_subj: this.link.names.statusSubject(callId) });
    if (!m) return null;
    const { meta, body } = unpack<StatusMeta>(m.data);
    return { meta, body, seq: m.seq };
  }

  /**
   * Writes a status; with `expectSeq` only if the call's last status still has that sequence (0: none yet),
   * else it throws a conflict (see `isConflict`). A result body too large for a message goes to the blob
   * store, deleted with the status. Returns the new sequence.
   */
  async put(ctx: AsyncContext, meta: StatusMeta, resultBody?: Buffer, expectSeq?: number): Promise<number> {
    const { names, opts } = this.link;
    let data: Uint8Array;
    if (meta.result && resultBody) {
      const key = names.blobKey(meta.callId, 'result');
      const packed = await this.bodies.pack(ctx, meta, resultBody, key, (m, k) => ({ ...m, result: { ...m.result!, bodyKey: k } }));
      if (packed.spilled) await this.bodies.deleteAt(ctx, key, Date.now() + opts.resultTtlMs);
      data = packed.data;
    } else {
      data = pack(meta);
    }
    const ack = await ctx.js.publish(names.statusSubject(meta.callId), data, expectSeq === undefined ? undefined : { expect: { lastSubjectSequence: expectSeq } });
    return ack.seq;
  }

  /** The stored result body of a status (inline or from the blob store), or null when there is none. */
  async resultBody(entry: StatusEntry): Promise<Buffer | null> {
    if (!entry.meta.result) return null;
    return this.bodies.body(entry.body, entry.meta.result.bodyKey);
  }
}
