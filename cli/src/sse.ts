/** Server-Sent Events as the CLI reads them: one parser (eventsource-parser, spec-conformant) for every stream. */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { bodyChunks } from './follow.ts';

export type { EventSourceMessage };

/**
 * The events of an SSE body, each once it is complete (comments and pings are skipped). An event cut off by
 * the end of the body is not yielded: it was not sent whole. A body that breaks off throws StreamDroppedError.
 * @example for await (const m of sseMessages(res.body, 'run 42')) console.log(m.id, m.event, JSON.parse(m.data));
 */
export async function* sseMessages(body: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<EventSourceMessage> {
  const ready: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (m) => ready.push(m) });
  const decoder = new TextDecoder();
  for await (const chunk of bodyChunks(body, what)) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    yield* ready.splice(0);
  }
}
