/** The shapes the gateway's API answers with, as the app reads them (fields the app does not use are left out). */

export interface Session {
  user: string;
  csrf: string;
  expiresAt: string;
}

/** OpenFaaS FunctionStatus plus Spindle's fields. */
export interface FunctionInfo {
  name: string;
  image: string;
  namespace?: string;
  replicas: number;
  availableReplicas: number;
  invocationCount: number;
  createdAt?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  envVars?: Record<string, string>;
  secrets?: string[];
  queueDepth?: number;
  /** The deployed version (1 for the first deploy) and when it was deployed (`createdAt` is the first deploy). */
  version?: number;
  deployedAt?: string;
  /** `control` (replica processes) or `gpu` (the GPU runner). */
  plane?: 'control' | 'gpu';
  /** The function's input JSON Schema, when the gateway knows it. */
  inputSchema?: JsonSchema;
}

export interface FunctionVersion {
  version: number;
  image: string;
  deployedAt: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  envVars?: Record<string, string>;
  secrets?: string[];
}

export interface Series {
  rate: number[];
  errorRate: number[];
  p50: number[];
  p99: number[];
}

export interface FunctionStats {
  invocations: number;
  success: number;
  errors: number;
  p50: number | null;
  p99: number | null;
  rate: number[];
  errorRate: number[];
  p50s: number[];
  p99s: number[];
}

export interface Stats {
  window: number;
  step: number;
  source: 'gateway' | 'prometheus';
  t: number[];
  total: Series;
  functions: Record<string, FunctionStats>;
}

/** A JSON Schema as the form generator reads it. */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  additionalProperties?: boolean | JsonSchema;
  [key: string]: unknown;
}

export interface GraphNode {
  function: string;
  input?: unknown;
  needs?: string[];
  when?: string;
  retry?: { attempts?: number; backoffMs?: number };
  timeoutMs?: number;
}

export interface GraphDefinition {
  description?: string;
  example?: unknown;
  input?: JsonSchema;
  output?: unknown;
  nodes: Record<string, GraphNode>;
}

export interface Graph {
  name: string;
  version: number;
  definition: GraphDefinition;
  createdAt: string;
  updatedAt: string;
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface Run {
  runId: string;
  graph: string;
  graphVersion: number;
  status: RunStatus;
  input: unknown;
  output: unknown;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface RunNode {
  node: string;
  status: string;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  output: unknown;
  error: string | null;
}

export interface RunDetail extends Run {
  nodes: RunNode[];
}

/** One event of a run's SSE stream. */
export interface RunEvent {
  seq: number;
  runId: string;
  type: string;
  node?: string;
  at: string;
  data?: Record<string, unknown>;
}

export interface LogLine {
  name: string;
  instance?: string;
  timestamp: string;
  text: string;
  cursor?: string;
}

export interface RunnerStatus {
  alive: boolean;
  message?: string;
  ep?: string;
  device?: string;
  epReason?: string;
  workers?: number;
  startedAt?: string;
  functions?: Array<{ name: string; version: number; models: string[]; batch: { maxSize?: number; maxDelayMs?: number } | null; state: string }>;
  models?: Array<{ digest: string; bytes: number; loads: number; lastUsed: string }>;
  memory?: { rssBytes: number; heapBytes: number; modelBytes: number; budgetBytes: number };
  queue?: { local: number; inFlight: number };
  batches?: { count: number; items: number; maxSize: number; meanSize: number; sizes: Record<string, number> };
  jobs?: Record<string, number>;
  queueDepth?: Record<string, number>;
  /** Jobs dead-lettered after too many deliveries: how many, and the newest. */
  deadLetters?: { count: number; recent: Array<{ id: string; callId: string | null; function: string | null; code: string | null; reason: string | null; deliveries: number; at: string }> };
}

export interface AsyncCall {
  callId: string;
  function: string;
  status: string;
  attempts: number;
  createdAt: string;
  finishedAt: string | null;
  httpStatus: number | null;
  durationMs: number | null;
}

export interface DeadLetter {
  callId: string;
  function: string;
  status: number;
  attempts: number;
  error?: string;
  enqueuedAt: string;
  failedAt: string;
  callbackUrl?: string;
  bodySize?: number;
}
