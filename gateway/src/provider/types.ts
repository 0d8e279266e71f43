/** The Provider capability: where replicas of control functions run (local processes today, Kubernetes later). */
import type { Dispatcher } from 'undici';

/** Everything a provider needs to run one version of a function. */
export interface ProviderFunctionSpec {
  name: string;
  version: number;
  /** Path of the self-contained ESM bundle on this machine. */
  bundlePath: string;
  /** The function's own environment (envVars), without the gateway's. */
  env: Record<string, string>;
  /** Secret values by name; written to files only the replica reads, never to env or logs. */
  secrets: Map<string, Buffer>;
  minReplicas: number;
  maxReplicas: number;
  /** Replicas wanted now (already clamped to [min, max], or 0 for scaled to zero). */
  replicas: number;
  timeoutMs: number;
}

/** A replica chosen for one request; `release()` must be called once the response is done. */
export interface Lease {
  replicaId: string;
  dispatcher: Dispatcher;
  release(): void;
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
  /** Sets the replica count (the caller clamps it to the scaling labels). */
  scale(name: string, replicas: number): void;
  status(name: string): ReplicaStatus | null;
  /** A ready replica with the fewest requests in flight, waiting up to `waitMs` for one; null if `name` is unknown; throws UnavailableError after the wait. */
  acquire(name: string, waitMs: number): Promise<Lease | null>;
  /** Subscribes to replica progress reports. */
  onProgress(fn: (event: ProgressEvent) => void): () => void;
  /** Stops every replica (SIGTERM, then SIGKILL after a grace period). Idempotent. */
  close(): Promise<void>;
}
