/** @spindle/cli as a library: what `spindle` does, for `npm start`, tests and scripts. */
export { loadStack, parseStack, selectFunctions, readStackGateway } from './stack.ts';
export { addFunctionToStack, withFunction } from './stack-edit.ts';
export type { LoadedStack, StackEntry } from './stack.ts';
export { buildFunction, buildFunctions, buildDir, readBuild, isBuildable } from './build.ts';
export type { BuildOptions, BuildResult, BuildFunctionsOptions } from './build.ts';
export { deployFunctions, deployFunction, deployRequestFor } from './deploy.ts';
export type { DeployResult, DeployFunctionsOptions } from './deploy.ts';
export { GatewayClient } from './client.ts';
export { loadGraphs, deployGraphs, startRun, getRun, listRuns, getGraph, runEvents } from './graphs.ts';
export type { StackGraph, RunView } from './graphs.ts';
export type { GatewayClientOptions, LogEntry, LogsQuery, InvokeOptions, SecretInfo, SecretValue } from './client.ts';
export { resolveCredentials, resolveGateway, saveLogin, removeLogin, configDir, dataDir, normalizeGateway, DEFAULT_GATEWAY } from './config.ts';
export type { Credentials, Env } from './config.ts';
export { watchFunctions } from './watch.ts';
export type { WatchOptions, Watcher } from './watch.ts';
export { newFunction } from './commands/new.ts';
export { runCli, createProgram } from './main.ts';
export * from './errors.ts';
