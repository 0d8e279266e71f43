/**
 * The Provider capability: where a function runs and how one call reaches it. Local replica processes,
 * the GPU runner and (later) Kubernetes are implementations; the gateway's one call core (invoker.ts)
 * and FunctionService talk to them only through this interface.
 */
import type { Readable, Writable } from 'node:stream';

/** Everything a provider needs to run one version of a function. */
export interface ProviderFunctionSpec {
  name: string;
  version: number;
  /** Path of the self-contained ESM bundle on this machine. */
  bundlePath: string;
  /** The bundle's sha256 (hex): what a provider running elsewhere (Kubernetes) fetches from the object store. */
  digest: string;
  /** The function's own environment (envVars), without the gateway's. */
  env: Record<string, string>;
  /** Secret values by name; written to files only the replica reads, never to env or logs. */
  secrets: Map<string, Buffer>;
  minReplicas: number;
  maxReplicas: number;
  /** Replicas wanted now (already clamped to [min, max], or 0 for scaled to zero). */
  replicas: number;
  timeoutMs: number;
  /** The deploy request's labels and annotations (a provider reads its own settings from them). */
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** One call as the call core hands it to a provider. */
export interface ProviderCall {
  name: string;
  callId: string;
  method: string;
  /** What the function sees after `/function/<name>`, query included. */
  path: string;
  /** Headers to pass on: hop-by-hop ones removed, `x-call-id` and `x-start-time` set. */
  headers: Record<string, string | string[] | undefined>;
  /** The body: streamed from the caller (the HTTP route), whole (buffered callers), or none. */
  body: Readable | Buffer | null;
  /** A streamed body past this many bytes is a 413. */
  maxBodyBytes: number;
  timeoutMs: number;
  /** How long to wait for a starting replica before a 503. */
  readyWaitMs: number;
  /** Aborts the call (buffered callers: cancelled runs, shutdown). The streaming route passes none. */
  signal?: AbortSignal;
  /** True once the caller has gone: a provider that waited for capacity sends nothing then. */
  gone?: () => boolean;
}

/** Answer head → where its body goes. Called at most once per call, before any body byte. */
export type AnswerSink = (status: number, headers: Record<string, string | string[] | undefined>) => Writable;

/** A function's JSON Schemas as its replica reports them (null: the function takes or gives raw bytes). */
export interface FunctionSchemas {
  input: Record<string, unknown> | null;
  output: Record<string, unknown> | null;
}

/** The `schemas` of a replica's ready message, checked: anything that is not a plain object is null. */
export function functionSchemas(reported: unknown): FunctionSchemas {
  const r = (reported ?? {}) as { input?: unknown; output?: unknown };
  const plain = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
  return { input: plain(r.input), output: plain(r.output) };
}

/** Replica counts as OpenFaaS reports them. */
export interface ReplicaStatus {
  replicas: number;
  availableReplicas: number;
}

/** Progress reported by a replica through `ctx.progress`. */
export interface ProgressEvent {
  name: string;
  callId: string;
  fraction: number;
  message: string | null;
}

export interface Provider {
  /** Starts or rolls a function to `spec`; resolves when the rollout has begun (not when ready). */
  deploy(spec: ProviderFunctionSpec): Promise<void>;
  /** Stops every replica of `name`, letting in-flight requests finish. */
  remove(name: string): Promise<void>;
  /**
   * Sets the replica count (the caller clamps it to the scaling labels); false when this provider has no
   * replicas to scale. Scaling down drains: a replica taken out finishes its calls in flight first.
   */
  scale(name: string, replicas: number): boolean;
  status(name: string): ReplicaStatus | null;
  /** Jobs queued or running for `name`: what a provider without replicas (the GPU runner) reports instead. */
  queueDepth?(name: string): Promise<number>;
  /** The input/output JSON Schemas the function's current version reported when a replica got ready; null before any did. */
  schemas?(name: string): FunctionSchemas | null;
  /** CPU seconds each live replica of `name` has used since it started (the autoscaler's `cpu` type). */
  replicaCpu?(name: string): Promise<Array<{ id: string; cpuSeconds: number }>>;
  /**
   * Sends one call and streams the answer into `sink`; resolves once the body is written. Throws the
   * catalogue's errors: NotFoundError (unknown here), UnavailableError (no capacity within
   * `readyWaitMs`), TimeoutError, BadGatewayError (the backend failed the call), PayloadTooLargeError.
   */
  dispatch(call: ProviderCall, sink: AnswerSink): Promise<void>;
  /** Subscribes to replica progress reports. */
  onProgress(fn: (event: ProgressEvent) => void): () => void;
  /** Stops every replica (SIGTERM, then SIGKILL after a grace period). Idempotent. */
  close(): Promise<void>;
}
