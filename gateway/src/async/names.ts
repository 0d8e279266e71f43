/** Stream, subject and consumer names of the async queue, all derived from the platform's NATS prefix. */

/** Every JetStream name the async queue uses for one `natsPrefix`. */
export interface AsyncNames {
  /** Work queue stream (WorkQueue retention): one subject per function, one durable consumer per function. */
  work: string;
  /** Latest status of each call (one message per subject, max age = result TTL). */
  status: string;
  /** Calls that failed for good, until redriven (one message per call). */
  dead: string;
  /** `<prefix>.async.<fn>`: where calls to `fn` are queued. */
  workSubject(fn: string): string;
  /** `<prefix>.async-status.<callId>`. */
  statusSubject(callId: string): string;
  /** `<prefix>.async-dead.<callId>`. */
  deadSubject(callId: string): string;
  /** `<prefix>.async-key.<hash>`: the call an Idempotency-Key claimed (on the status stream). */
  keySubject(hash: string): string;
  /** Delayed deletions of blobs (large bodies), on the work stream. */
  gcSubject: string;
  /** Durable consumer of `fn`'s calls. */
  consumer(fn: string): string;
  /** Durable consumer of the delayed deletions. */
  gcConsumer: string;
  /** The function a consumer name belongs to, or null (the GC consumer, foreign consumers). */
  functionOf(consumer: string): string | null;
  /** Blob key of a large request or result body. */
  blobKey(callId: string, what: 'request' | 'result'): string;
}

/** Names for `prefix` (e.g. `spindle` → stream `spindle_ASYNC`, subjects `spindle.async.echo`). */
export function asyncNames(prefix: string): AsyncNames {
  return {
    work: `${prefix}_ASYNC`,
    status: `${prefix}_ASYNC_STATUS`,
    dead: `${prefix}_ASYNC_DEAD`,
    workSubject: (fn) => `${prefix}.async.${fn}`,
    statusSubject: (id) => `${prefix}.async-status.${id}`,
    deadSubject: (id) => `${prefix}.async-dead.${id}`,
    keySubject: (hash) => `${prefix}.async-key.${hash}`,
    gcSubject: `${prefix}.async-gc`,
    consumer: (fn) => `fn_${fn}`,
    gcConsumer: 'gc',
    functionOf: (c) => (c.startsWith('fn_') ? c.slice(3) : null),
    blobKey: (id, what) => `async/${prefix}/${what}/${id}`,
  };
}

/** What a caller-chosen X-Call-Id may look like: it becomes a NATS subject token. */
export const CALL_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * What an Idempotency-Key may look like (UUIDs, ULIDs, base64, `order:42`); it is hashed before it names
 * anything. The IETF draft's quoted form (`"key"`) is unquoted first (see the async route).
 */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:~+/=-]{1,255}$/;
