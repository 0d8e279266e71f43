/** The shapes that travel on the async streams, and the `AsyncInvoker` capability the queue worker calls functions through. */

/** How a function's failed async calls are retried (OpenFaaS Pro's `com.openfaas.retry.*` annotations). */
export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  attempts: number;
  /** Statuses that are retried. */
  codes: number[];
  minWaitMs: number;
  maxWaitMs: number;
}

/** Metadata of a queued call; the request body follows it in the envelope (or sits in the blob store under `bodyKey`). */
export interface WorkMeta {
  callId: string;
  fn: string;
  method: string;
  /** What the function sees after `/function/<name>`: path suffix and query. */
  path: string;
  headers: Record<string, string | string[]>;
  callbackUrl?: string;
  /** Epoch milliseconds. */
  enqueuedAt: number;
  /** Taken when the call was accepted, so a worker needs no access to the deployment. */
  policy: RetryPolicy;
  /** Set when the body was too large for a NATS message and went to the blob store. */
  bodyKey?: string;
  bodySize: number;
  /** Sequence of the "queued" status written with it: the first delivery's compare-and-set needs no read. */
  statusSeq?: number;
  /** Fingerprint of the request (`requestFingerprint`) when the caller chose the call id or sent an Idempotency-Key. */
  request?: string;
}

/** Where a call stands. */
export type CallState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A function's answer as stored for the status API; the body follows in the envelope or sits under `bodyKey`. */
export interface StoredResult {
  status: number;
  headers: Record<string, string | string[]>;
  durationSeconds: number;
  size: number;
  bodyKey?: string;
}

/** The latest status of a call (one message per call on the status stream). */
export interface StatusMeta {
  callId: string;
  fn: string;
  state: CallState;
  /** Attempts made so far. */
  attempts: number;
  maxAttempts: number;
  enqueuedAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** When a failed attempt will be retried (epoch ms). */
  retryAt?: number;
  /** Status of the last failed attempt. */
  lastStatus?: number;
  callbackUrl?: string;
  /** Set once the callback was given up on. */
  callbackError?: string;
  result?: StoredResult;
  /** As in WorkMeta: a repeat of this request with its call id gets the call back instead of a 409. */
  request?: string;
}

/** A dead letter: the call as it was queued, plus why it failed; the request body follows as in the work message. */
export interface DeadMeta extends WorkMeta {
  failedAt: number;
  status: number;
  attempts: number;
  /** The error's message when the gateway answered for the function (404, 502, 503, 504). */
  error?: string;
}

/** One invocation as the queue worker asks for it. */
export interface AsyncInvokeRequest {
  name: string;
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer;
  callId: string;
  /** Aborted when the worker shuts down; the call is then handed back to the queue. */
  signal: AbortSignal;
}

/** The function's answer, or the gateway's error answer standing in for it (404, 502, 503, 504 as JSON). */
export interface AsyncResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  durationSeconds: number;
  /** The gateway's error message when the function could not answer. */
  error?: string;
}

/**
 * How the queue worker calls a function: in the gateway through its `Invoker`, or from a standalone
 * `spindle queue-worker` over HTTP through the gateway's `/function/<name>`. Only an abort throws.
 */
export interface AsyncInvoker {
  invoke(req: AsyncInvokeRequest): Promise<AsyncResult>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** What the queue counts (GatewayMetrics implements it). */
export interface AsyncMetrics {
  asyncRetry(fn: string): void;
  asyncDeadLetter(fn: string): void;
  asyncCallbackFailed(fn: string): void;
}
