/** What a function is, as its author sees it. */
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import type { Logger } from 'pino';

export type { JSONSchema };

/** The raw HTTP request, given to functions that declare no input schema. */
export interface RawRequest {
  method: string;
  /** Path after `/function/<name>`, always starting with `/`. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** The body's content type, `application/octet-stream` when none was sent. */
  contentType: string;
  body: Buffer;
}

/** A full HTTP answer; `body` may be bytes, text, or a stream (SSE, NDJSON) sent chunk by chunk. */
export interface RawResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: Buffer | Uint8Array | string | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>;
}

/** Bytes a function stores for later steps (audio, images, video). */
export interface Artifacts {
  /** Stores bytes under `key` (slash-separated, no `..`) and returns the key as stored. */
  put(key: string, data: Buffer | Uint8Array | string, contentType?: string): Promise<{ key: string; size: number }>;
  /** The bytes stored under `key`, or null. */
  get(key: string): Promise<Buffer | null>;
}

/** What `handle` receives besides its input. */
export interface FunctionContext {
  /** The invocation's id (`X-Call-Id`). */
  callId: string;
  /** The function's name. */
  name: string;
  /** A pino logger; lines reach `spindle logs` tagged with the call id. */
  logger: Logger;
  /** Reports progress: `fraction` in [0, 1]. Reaches run event streams and the logs. */
  progress(fraction: number, message?: string): void;
  artifacts: Artifacts;
  /** Reads a secret the function was deployed with (OpenFaaS: /var/openfaas/secrets/NAME). */
  secret(name: string): Promise<string>;
  /** Aborted when the function's timeout passes or the gateway drops the call (a caller leaving does not interrupt a running call). */
  signal: AbortSignal;
  /** The HTTP request behind the invocation (for JSON functions too). */
  request: Omit<RawRequest, 'body'>;
}

type InputOf<I> = I extends JSONSchema ? (I extends boolean ? unknown : FromSchema<I>) : RawRequest;
type OutputOf<O> = O extends JSONSchema ? (O extends boolean ? unknown : FromSchema<O>) : unknown;

/** A control function: a JSON function when `input` is a schema, a raw HTTP function otherwise. */
export interface FunctionDefinition<I = JSONSchema | undefined, O = JSONSchema | undefined> {
  kind: 'control';
  /** JSON Schema of the request body; the runtime parses and validates it (400 naming the field). */
  input?: I;
  /** JSON Schema of the result; checked before it is sent. */
  output?: O;
  handle(input: InputOf<I>, ctx: FunctionContext): Promise<OutputOf<O> | RawResponse | Response> | OutputOf<O> | RawResponse | Response;
}

/** Any function definition, as the watchdog sees it. */
export type AnyFunctionDefinition = {
  kind: 'control';
  input?: JSONSchema;
  output?: JSONSchema;
  handle(input: unknown, ctx: FunctionContext): unknown;
};
