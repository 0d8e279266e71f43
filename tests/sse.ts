/** Server-Sent Events in tests, parsed as a client parses them (eventsource-parser), never by hand. */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** The complete events of an SSE text, in order (comments skipped; an unterminated last event dropped). */
export function parseSse(text: string): EventSourceMessage[] {
  const events: EventSourceMessage[] = [];
  createParser({ onEvent: (e) => events.push(e) }).feed(text);
  return events;
}

/** The JSON data of each event of an SSE text. */
export function sseData<T = any>(text: string): T[] {
  return parseSse(text).map((e) => JSON.parse(e.data) as T);
}
