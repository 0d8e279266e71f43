/** @spindle/gateway: the platform's server side. */
export { createPlatform } from './main.ts';
export type { Platform } from './main.ts';
export { configFromEnv } from './config.ts';
export type { PlatformConfig } from './config.ts';
export { startPlatform } from './start.ts';
export { startRunnerProcess } from './gpu/local.ts';
export type { StartOptions, StartedPlatform } from './start.ts';
export { buildGateway } from './server.ts';
export { formatComment, formatEvent, openSse, SseStream, SSE_HEADERS } from './sse.ts';
export type { SseEvent } from './sse.ts';
export { Followers } from './follow.ts';
export type { FollowOptions } from './follow.ts';
export * from './errors.ts';
export { runQueueWorker, HttpAsyncInvoker, LocalAsyncInvoker, asyncNames } from './async/index.ts';
export type { AsyncInvoker, AsyncService, CallView, DeadLetterView, StandaloneWorker, StandaloneWorkerOptions } from './async/index.ts';
export { ensureService, natsService, redisService, answers } from './services.ts';
export type { LocalService } from './services.ts';
