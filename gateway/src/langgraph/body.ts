/**
 * Request bodies of the LangGraph Platform API, checked against their schemas (@spindle/schemas langgraph.ts):
 * a violation is a 422 naming the field, as LangGraph Platform answers; a body deeper or larger than the
 * API's bounds is the usual 400.
 */
import {
  compile,
  fieldName,
  langgraphAssistantSearchSchema,
  langgraphHistorySchema,
  langgraphRunSchema,
  langgraphThreadCreateSchema,
  langgraphThreadSearchSchema,
  langgraphThreadUpdateSchema,
  type LanggraphAssistantSearch,
  type LanggraphHistory,
  type LanggraphRunRequest,
  type LanggraphThreadCreate,
  type LanggraphThreadSearch,
  type LanggraphThreadUpdate,
  type Validator,
} from '@spindle/schemas';
import { UnprocessableError } from '../errors.ts';
import { boundedBody } from '../routes/validate.ts';
import type { StreamMode } from './stream.ts';

/** `\u0000` in JSON text, not preceded by an escaped backslash (`\\u0000` is the text "\u0000"). */
const NUL_ESCAPE = /(?<!\\)(?:\\\\)*\\u0000/;

/** Returns `body` typed (an absent body as `{}`), or throws a 422 naming the field. */
function valid<T>(validator: Validator<T>, body: unknown): T {
  const value = body ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new UnprocessableError('request body must be a JSON object');
  boundedBody(value);
  // Postgres cannot store U+0000 in jsonb (metadata, run input): refused here rather than failing at the insert.
  if (NUL_ESCAPE.test(JSON.stringify(value))) throw new UnprocessableError('request body holds a NUL character (\\u0000), which cannot be stored');
  const issue = validator.check(value);
  if (issue) throw new UnprocessableError(issue.path ? `field "${fieldName(issue.path)}" ${issue.message}` : `request body ${issue.message}`);
  return value as T;
}

const runValidator = compile<LanggraphRunRequest>(langgraphRunSchema);
const threadCreateValidator = compile<LanggraphThreadCreate>(langgraphThreadCreateSchema);
const threadUpdateValidator = compile<LanggraphThreadUpdate>(langgraphThreadUpdateSchema);
const threadSearchValidator = compile<LanggraphThreadSearch>(langgraphThreadSearchSchema);
const assistantSearchValidator = compile<LanggraphAssistantSearch>(langgraphAssistantSearchSchema);
const historyValidator = compile<LanggraphHistory>(langgraphHistorySchema);

/** A run request with its stream modes as a list (default `values`, LangGraph's default). */
export type RunRequest = LanggraphRunRequest & { stream_mode: StreamMode[] };

/** Fields whose meaning Spindle cannot honour: refused rather than silently ignored. */
const UNSUPPORTED: Array<[field: string, why: string]> = [
  ['command', 'Spindle graphs have no interrupts to resume'],
  ['checkpoint', 'a Spindle run starts from its input'],
  ['checkpoint_id', 'a Spindle run starts from its input'],
  ['interrupt_before', 'Spindle graphs do not interrupt'],
  ['interrupt_after', 'Spindle graphs do not interrupt'],
];

/** The body of `POST …/runs`, `…/runs/wait` and `…/runs/stream`. */
export function runRequest(body: unknown): RunRequest {
  const raw = (body ?? {}) as Record<string, unknown>;
  const modes = typeof raw === 'object' && raw !== null && typeof raw.stream_mode === 'string' ? { ...raw, stream_mode: [raw.stream_mode] } : raw;
  const req = valid(runValidator, modes) as RunRequest;
  for (const [field, why] of UNSUPPORTED) {
    const v = (req as Record<string, unknown>)[field];
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) throw new UnprocessableError(`field "${field}" is not supported: ${why}`);
  }
  req.stream_mode = req.stream_mode?.length ? [...new Set(req.stream_mode)] : ['values'];
  return req;
}

export const threadCreate = (body: unknown) => valid(threadCreateValidator, body);
export const threadUpdate = (body: unknown) => valid(threadUpdateValidator, body);
export const threadSearch = (body: unknown) => valid(threadSearchValidator, body);
export const assistantSearch = (body: unknown) => valid(assistantSearchValidator, body);
export const historyRequest = (body: unknown) => valid(historyValidator, body);
