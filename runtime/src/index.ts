/** @spindle/runtime: what a function author imports. */
export { defineFunction } from './define.ts';
export { defineGpuFunction } from './gpu.ts';
export type { AnyGpuFunctionDefinition, GpuBatch, GpuBytes, GpuContext, GpuFunctionDefinition, GpuSession } from './gpu.ts';
export { GPU_GROUP, decodeJob, decodeReply, decodeReplyEntry, encodeProgress, encodeReply, fieldsOf, gpuKeys } from './gpu-wire.ts';
export type { ArtifactsEndpoint, GpuFunctionSpec, GpuJob, GpuProgress, GpuReply, RunnerStatus } from './gpu-wire.ts';
export { RetryPacer } from './retry.ts';
export { artifactClient } from './context.ts';
export { isJsonBody, keyFromJson, readArtifact } from './key-input.ts';
export { HttpError, InvalidInputError, InvalidOutputError } from './errors.ts';
export type {
  Artifacts,
  AnyFunctionDefinition,
  FunctionContext,
  FunctionDefinition,
  JSONSchema,
  RawRequest,
  RawResponse,
} from './types.ts';
