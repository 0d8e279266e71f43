/**
 * Server-Sent Events, written one way for every route that streams them: the headers, the frames (ids for
 * Last-Event-ID, multi-line data), comment pings, and the end (see follow.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Followers } from './follow.ts';

/** One event as a stream carries it. */
export interface SseEvent {
  /** What a reconnecting client sends back as `Last-Event-ID`; one line, no NUL. */
  id?: string | number;
  /** The event type (`event:`); one line. Clients call an event without one `message`. */
  event?: string;
  /** The payload: any text; each of its lines becomes one `data:` line, and clients join them with `\n`. */
  data: string;
  /** How long (ms) a client that lost the stream waits before it reconnects. */
  retry?: number;
}

/** The headers of every event stream (`x-accel-buffering: no`: nginx would otherwise hold events back). */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const;

const LINE_BREAK = /\r\n|\r|\n/;

/** A field whose value must stay on one line: a line break there would end the field early and forge the rest. */
function oneLine(name: string, value: string): string {
  if (LINE_BREAK.test(value) || value.includes('\0')) throw new TypeError(`SSE field "${name}" must be one line without NUL, got ${JSON.stringify(value)}`);
  return `${name}: ${value}\n`;
}

/**
 * One event as SSE text, ending with the blank line that dispatches it. Data with line breaks (`\n`, `\r\n`
 * or `\r`) is split into one `data:` line each, so the client reads back exactly `data` (line breaks as `\n`).
 * @example formatEvent({ id: 3, event: 'node.started', data: '{"seq":3}' }) // 'id: 3\nevent: node.started\ndata: {"seq":3}\n\n'
 */
export function formatEvent(e: SseEvent): string {
  let out = '';
  if (e.id !== undefined) out += oneLine('id', String(e.id));
  if (e.event !== undefined) out += oneLine('event', e.event);
  if (e.retry !== undefined) {
    if (!Number.isInteger(e.retry) || e.retry < 0) throw new TypeError(`SSE field "retry" must be a whole number of ms, got ${e.retry}`);
    out += `retry: ${e.retry}\n`;
  }
  for (const line of e.data.split(LINE_BREAK)) out += line ? `data: ${line}\n` : 'data:\n';
  return `${out}\n`;
}

/** A comment (clients ignore it): a ping, or a first line so the caller sees the stream open. */
export function formatComment(text: string): string {
  return `${text
    .split(LINE_BREAK)
    .map((line) => (line ? `: ${line}` : ':'))
    .join('\n')}\n\n`;
}

/** An open event stream. Writes after the stream has closed are dropped. */
export class SseStream {
  constructor(readonly res: ServerResponse) {}

  /** False once the stream has ended or the caller has gone. */
  get open(): boolean {
    return !this.res.writableEnded && !this.res.destroyed;
  }

  /** Writes one event. */
  send(e: SseEvent): void {
    if (this.open) this.res.write(formatEvent(e));
  }

  /** Writes one comment. */
  comment(text: string): void {
    if (this.open) this.res.write(formatComment(text));
  }

  /** Ends the stream (a client that follows it reconnects unless it knows the stream is complete). */
  end(): void {
    this.res.end();
  }

  /** Calls `fn` once when the stream closes, whoever closed it (at once when it has): release subscriptions there. */
  onClose(fn: () => void): void {
    if (this.res.destroyed) return void fn();
    this.res.once('close', fn);
  }
}

/**
 * Answers with an event stream on a hijacked reply: the headers, a first comment (`hello`, so the caller sees
 * the stream open before the first event), a comment ping every 15 s, and the end when the caller closes its
 * side or the server closes. Returns undefined when there is nothing to follow: for HEAD the headers are the
 * whole answer (node would hold them back until a body byte that never comes), and a caller may have gone.
 * @example
 * reply.hijack();
 * const sse = openSse(followers, req.raw, reply.raw, 'spindle run events');
 * if (sse) sse.onClose(subscribe((e) => sse.send({ id: e.seq, event: e.type, data: JSON.stringify(e) })));
 */
export function openSse(followers: Followers, req: IncomingMessage, res: ServerResponse, hello: string): SseStream | undefined {
  if (res.destroyed) return undefined;
  res.writeHead(200, SSE_HEADERS);
  if (req.method === 'HEAD') return void res.end();
  const sse = new SseStream(res);
  sse.comment(hello);
  followers.follow(req, res, { ping: () => sse.comment('ping') });
  return sse;
}
