/**
 * Recent async calls, newest first (`GET /system/async/calls`), read from the status stream: it keeps the
 * latest status of each call (one message per call, for the result TTL), so each call appears once. Pages
 * go backwards by stream sequence: the cursor is the sequence below which the next page starts.
 */
import { DeliverPolicy } from '@nats-io/jetstream';
import { unpack } from './envelope.ts';
import { isMissing, natsError, type AsyncLink } from './link.ts';
import type { CallState, StatusMeta } from './types.ts';

/** Status messages read at most for one page (a page with rare matches stops here and gives a cursor). */
const SCAN_LIMIT = 5000;
/** Messages read from the stream per chunk. */
const CHUNK = 500;

/** One call as listed. */
export interface CallSummary {
  callId: string;
  function: string;
  status: CallState;
  attempts: number;
  createdAt: string;
  finishedAt: string | null;
  /** The function's status code (its last one while retrying); null before an answer. */
  httpStatus: number | null;
  durationMs: number | null;
}

/** What to list. */
export interface CallQuery {
  fn?: string;
  status?: CallState;
  limit: number;
  /** A `next` of an earlier page: list calls older than it. */
  cursor?: number;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

function summary(m: StatusMeta): CallSummary {
  return {
    callId: m.callId,
    function: m.fn,
    status: m.state,
    attempts: m.attempts,
    createdAt: new Date(m.enqueuedAt).toISOString(),
    finishedAt: iso(m.finishedAt),
    httpStatus: m.result?.status ?? m.lastStatus ?? null,
    durationMs: m.result ? Math.round(m.result.durationSeconds * 1e6) / 1000 : null,
  };
}

/** Lists calls from the status stream. */
export class CallList {
  constructor(private readonly link: AsyncLink) {}

  async list(q: CallQuery): Promise<{ items: CallSummary[]; next: number | null }> {
    const ctx = await this.link.get(false);
    const { names } = this.link;
    try {
      const info = await ctx.jsm.streams.info(names.status);
      const first = info.state.first_seq;
      let upper = Math.min(q.cursor ?? Number.MAX_SAFE_INTEGER, info.state.last_seq + 1);
      const items: CallSummary[] = [];
      let scanned = 0;
      while (items.length < q.limit && upper > first && scanned < SCAN_LIMIT) {
        const from = Math.max(first, upper - CHUNK);
        const chunk = await this.#read(from, upper);
        scanned += upper - from;
        for (const { seq, meta } of chunk.reverse()) {
          if ((q.fn && meta.fn !== q.fn) || (q.status && meta.state !== q.status)) continue;
          items.push(summary(meta));
          if (items.length === q.limit) {
            upper = seq;
            break;
          }
        }
        if (items.length < q.limit) upper = from;
      }
      return { items, next: upper > first ? upper : null };
    } catch (err) {
      if (isMissing(err)) return { items: [], next: null };
      throw natsError(err, this.link.opts.nats.url);
    }
  }

  /** Call statuses with sequences in [from, upper), oldest first. */
  async #read(from: number, upper: number): Promise<Array<{ seq: number; meta: StatusMeta }>> {
    const ctx = await this.link.get(false);
    const { names } = this.link;
    const reader = await ctx.js.consumers.get(names.status, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from, filter_subjects: names.statusSubject('*') });
    const out: Array<{ seq: number; meta: StatusMeta }> = [];
    const batch = await reader.fetch({ max_messages: upper - from, expires: 2000 });
    for await (const m of batch) {
      if (m.seq >= upper) break;
      out.push({ seq: m.seq, meta: unpack<StatusMeta>(m.data).meta });
      if (m.info.pending === 0) break;
    }
    await batch.close();
    return out;
  }
}
