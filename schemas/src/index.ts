/** @spindle/schemas: the JSON Schemas of every contract, their validators and derived types. */
import type { DeleteRequest, DeployRequest, ScaleRequest, SecretRequest } from './deploy.ts';
import { deleteRequestSchema, deployRequestSchema, scaleRequestSchema, secretRequestSchema } from './deploy.ts';
import type { StackFile } from './stack.ts';
import { stackFileSchema } from './stack.ts';
import { compile } from './validate.ts';

export { dnsLabel, envMap, stringMap, resources } from './common.ts';
export {
  deployRequestSchema,
  scaleRequestSchema,
  deleteRequestSchema,
  secretRequestSchema,
  functionStatusSchema,
} from './deploy.ts';
export type { DeployRequest, ScaleRequest, DeleteRequest, SecretRequest, FunctionStatus } from './deploy.ts';
export { stackFileSchema, stackFunctionSchema } from './stack.ts';
export { graphDefinitionSchema, graphNodeSchema, runEventSchema, nodeId } from './graph.ts';
export type { GraphDefinition, GraphNode, RunEvent } from './graph.ts';
export type { StackFile, StackFunction } from './stack.ts';
export { compile, describeIssue, fieldName } from './validate.ts';
export type { SchemaIssue, Validator } from './validate.ts';
export { checkJsonBounds, checkTreeBounds, DOCUMENT_BOUNDS, SCHEMA_BOUNDS } from './bounds.ts';
export type { BoundsIssue, ChildrenOf, JsonBounds } from './bounds.ts';
export { GraphInvalidError } from './errors.ts';
export { MEDIA_TYPES, extensionOf, mediaTypeOf } from './media.ts';
export {
  ANNOTATIONS,
  LABELS,
  MAX_DOWN_WINDOW_MS,
  MAX_REPLICAS_LIMIT,
  NAMESPACE,
  SCALE_TYPES,
  SCALING_DEFAULTS,
  backoffDelay,
  isValidName,
  parseDuration,
  parseFunctionRef,
  parseScaling,
} from './contracts.ts';
export type { Backoff, LabelProblem, NameProblem, ScaleType, ScalingRules } from './contracts.ts';
export { parseCondition, parsePath, references, TEMPLATE, WHOLE } from './mapping.ts';
export type { Condition } from './mapping.ts';
export { planGraph } from './graph-plan.ts';
export type { PlannedGraph } from './graph-plan.ts';
export { checkGraphDefinition, compileInputSchema, validateGraphDefinition } from './graph-check.ts';
export {
  LANGGRAPH_STREAM_MODES,
  langgraphAssistantSearchSchema,
  langgraphHistorySchema,
  langgraphRunSchema,
  langgraphThreadCreateSchema,
  langgraphThreadSearchSchema,
  langgraphThreadUpdateSchema,
} from './langgraph.ts';
export type {
  LanggraphAssistantSearch,
  LanggraphHistory,
  LanggraphRunRequest,
  LanggraphThreadCreate,
  LanggraphThreadSearch,
  LanggraphThreadUpdate,
} from './langgraph.ts';

export const validateDeployRequest = compile<DeployRequest>(deployRequestSchema);
export const validateScaleRequest = compile<ScaleRequest>(scaleRequestSchema);
export const validateDeleteRequest = compile<DeleteRequest>(deleteRequestSchema);
export const validateSecretRequest = compile<SecretRequest>(secretRequestSchema);
export const validateStackFile = compile<StackFile>(stackFileSchema);
