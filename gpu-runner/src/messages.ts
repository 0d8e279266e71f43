/** Messages between the runner's main thread and its inference workers. */
import type { ArtifactsEndpoint, GpuFunctionSpec } from '@spindle/runtime';
import type { ModelInfo } from './model-cache.ts';

/** One job as a worker sees it. */
export interface WorkItem {
  id: string;
  contentType: string;
  body: Uint8Array;
}

/** One job's outcome. */
export interface WorkResult {
  status: number;
  contentType: string;
  body: Uint8Array;
  code?: string;
}

/** What a loaded version declares. */
export interface LoadedInfo {
  batch: { maxSize: number; maxDelayMs: number } | null;
  models: string[];
}

export type ToWorker =
  | { t: 'init'; ep: 'cuda' | 'cpu'; budgetBytes: number; threads: number; idleReleaseMs: number }
  | { t: 'load'; seq: number; key: string; spec: GpuFunctionSpec }
  | { t: 'unload'; key: string; models: string[] }
  /** `artifacts`: the gateway endpoint of the latest deploy (handlers' `ctx.artifacts`), null before any names one. */
  | { t: 'run'; seq: number; key: string; items: WorkItem[]; artifacts?: ArtifactsEndpoint | null };

export type FromWorker =
  | { t: 'loaded'; seq: number; info: LoadedInfo }
  /** A load failed; `code` is the RunnerError's (errors.ts), rebuilt on the main thread. */
  | { t: 'failed'; seq: number; message: string; code: string }
  | { t: 'done'; seq: number; results: WorkResult[]; timings: Array<[model: string, seconds: number]> }
  /** `ctx.progress()` during run `seq`, for the items at `items` (indices into the batch). */
  | { t: 'progress'; seq: number; items: number[]; fraction: number; message: string | null }
  | { t: 'models'; models: ModelInfo[]; loadSeconds?: [digest: string, seconds: number] };
