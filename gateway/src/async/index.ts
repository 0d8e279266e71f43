/** The async queue: JetStream streams, queue worker, status API, dead letters. */
export { createAsyncService } from './service.ts';
export type { AsyncService } from './service.ts';
export type { CallView, DeadLetterView } from './queue.ts';
export { LocalAsyncInvoker, HttpAsyncInvoker } from './invokers.ts';
export type { AsyncInvoker } from './types.ts';
export { asyncNames } from './names.ts';
export { runQueueWorker } from './standalone.ts';
export type { StandaloneWorker, StandaloneWorkerOptions } from './standalone.ts';
