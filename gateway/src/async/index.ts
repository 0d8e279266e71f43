/** The async queue: JetStream streams, queue worker, status API, dead letters. */
export { createAsyncService } from './service.ts';
export type { AsyncService, AsyncServiceDeps, AsyncSettings } from './service.ts';
export { AsyncQueue } from './queue.ts';
export type { CallView, DeadLetterView, EnqueueRequest } from './queue.ts';
export { QueueWorker } from './worker.ts';
export { LocalAsyncInvoker, HttpAsyncInvoker } from './invokers.ts';
export type { AsyncInvoker, AsyncInvokeRequest, AsyncResult, AsyncMetrics, RetryPolicy } from './types.ts';
export { RETRY_DEFAULTS, asyncPolicy, retryDelay, parseRetryAfter } from './policy.ts';
export { asyncNames } from './names.ts';
export { runQueueWorker } from './standalone.ts';
export type { StandaloneWorker, StandaloneWorkerOptions } from './standalone.ts';
