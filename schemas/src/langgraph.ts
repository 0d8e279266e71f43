/**
 * Request bodies of the LangGraph Platform (Agent Server) API the gateway serves for `@langchain/langgraph-sdk`
 * clients (gateway/src/langgraph/). Field names are the SDK's (snake_case); fields the SDK sends that Spindle
 * does not act on are accepted and ignored, and the ones whose meaning it cannot honour are refused by the route.
 */
import type { FromSchema } from 'json-schema-to-ts';

/** What Spindle streams: one SSE event per mode (`custom` carries `ctx.progress` reports). */
export const LANGGRAPH_STREAM_MODES = ['values', 'updates', 'events', 'debug', 'custom'] as const;

const metadata = { type: 'object', maxProperties: 100 } as const;
const uuid = { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' } as const;
const page = { limit: { type: 'integer', minimum: 1, maximum: 1000 }, offset: { type: 'integer', minimum: 0, maximum: 1_000_000 } } as const;
const sortOrder = { type: 'string', enum: ['asc', 'desc'] } as const;

/** `POST /runs`, `/runs/wait`, `/runs/stream` and the same under `/threads/ID`. `stream_mode` arrives as a list (the route wraps a lone string). */
export const langgraphRunSchema = {
  $id: 'spindle/langgraph-run',
  type: 'object',
  required: ['assistant_id'],
  properties: {
    assistant_id: { type: 'string', minLength: 1, maxLength: 200 },
    input: {},
    metadata,
    config: { type: 'object' },
    context: { type: 'object' },
    stream_mode: { type: 'array', maxItems: 10, items: { type: 'string', enum: LANGGRAPH_STREAM_MODES } },
    stream_subgraphs: { type: 'boolean' },
    stream_resumable: { type: 'boolean' },
    on_completion: { type: 'string', enum: ['delete', 'keep'] },
    on_disconnect: { type: 'string', enum: ['cancel', 'continue'] },
    multitask_strategy: { type: 'string', enum: ['reject', 'interrupt'] },
    if_not_exists: { type: 'string', enum: ['create', 'reject'] },
    after_seconds: { type: 'number', maximum: 0 },
  },
  additionalProperties: true,
} as const;
export type LanggraphRunRequest = FromSchema<typeof langgraphRunSchema>;

/** `POST /threads`. */
export const langgraphThreadCreateSchema = {
  $id: 'spindle/langgraph-thread-create',
  type: 'object',
  properties: {
    metadata,
    thread_id: uuid,
    if_exists: { type: 'string', enum: ['raise', 'do_nothing'] },
  },
  additionalProperties: true,
} as const;
export type LanggraphThreadCreate = FromSchema<typeof langgraphThreadCreateSchema>;

/** `PATCH /threads/ID`. */
export const langgraphThreadUpdateSchema = {
  $id: 'spindle/langgraph-thread-update',
  type: 'object',
  properties: { metadata },
  additionalProperties: true,
} as const;
export type LanggraphThreadUpdate = FromSchema<typeof langgraphThreadUpdateSchema>;

/** `POST /threads/search`. */
export const langgraphThreadSearchSchema = {
  $id: 'spindle/langgraph-thread-search',
  type: 'object',
  properties: {
    metadata,
    ids: { type: 'array', maxItems: 1000, items: uuid },
    status: { type: 'string', enum: ['idle', 'busy', 'interrupted', 'error'] },
    sort_by: { type: 'string', enum: ['thread_id', 'created_at', 'updated_at'] },
    sort_order: sortOrder,
    ...page,
  },
  additionalProperties: true,
} as const;
export type LanggraphThreadSearch = FromSchema<typeof langgraphThreadSearchSchema>;

/** `POST /assistants/search`. */
export const langgraphAssistantSearchSchema = {
  $id: 'spindle/langgraph-assistant-search',
  type: 'object',
  properties: {
    graph_id: { type: 'string', maxLength: 200 },
    name: { type: 'string', maxLength: 200 },
    metadata,
    sort_by: { type: 'string', enum: ['assistant_id', 'graph_id', 'name', 'created_at', 'updated_at'] },
    sort_order: sortOrder,
    ...page,
  },
  additionalProperties: true,
} as const;
export type LanggraphAssistantSearch = FromSchema<typeof langgraphAssistantSearchSchema>;

/** `POST /threads/ID/history`: `before` is a checkpoint config (`{configurable: {checkpoint_id}}`) or the checkpoint itself. */
export const langgraphHistorySchema = {
  $id: 'spindle/langgraph-history',
  type: 'object',
  properties: {
    limit: page.limit,
    before: { type: 'object' },
    metadata,
    checkpoint: { type: 'object' },
  },
  additionalProperties: true,
} as const;
export type LanggraphHistory = FromSchema<typeof langgraphHistorySchema>;
