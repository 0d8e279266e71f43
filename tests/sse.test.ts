/** The gateway's SSE writer read back by a spec-conformant parser (eventsource-parser): what is written is what arrives. */
import { formatComment, formatEvent, type SseEvent } from '@spindle/gateway';
import { describe, expect, it } from 'vitest';
import { parseSse } from './sse.ts';

describe('SSE writer and parser agree', () => {
  it('carries ids, event types and any data (line breaks of every kind become \\n) through, in order', () => {
    const events: SseEvent[] = [
      { id: 1, event: 'run.started', data: JSON.stringify({ seq: 1, text: 'line one\nline two' }) },
      { id: '0a1b2c3d-2', event: 'log', data: 'first\nsecond\n\nfourth' },
      { id: 3, data: '  leading spaces, trailing line break\n' },
      { id: 4, event: 'message', data: 'id: 99\nevent: forged\nretry: 1' },
      { id: 5, data: 'ünïcødé ✓ 🎬' },
      { id: 6, data: '' },
    ];
    const text = formatComment('spindle run events') + events.map((e, i) => formatEvent(e) + (i === 2 ? formatComment('ping') : '')).join('');
    const parsed = parseSse(text);
    expect(parsed.map((m) => m.id)).toEqual(['1', '0a1b2c3d-2', '3', '4', '5', '6']);
    expect(parsed.map((m) => m.event)).toEqual(['run.started', 'log', undefined, 'message', undefined, undefined]);
    expect(parsed.map((m) => m.data)).toEqual(events.map((e) => e.data));
    expect(JSON.parse(parsed[0]!.data).text).toBe('line one\nline two');
    expect(parseSse(formatEvent({ data: 'a\r\nb\rc' }))[0]!.data).toBe('a\nb\nc');
  });

  it('holds back an event cut off before its blank line', () => {
    const whole = formatEvent({ id: 1, data: 'one' }) + formatEvent({ id: 2, data: 'two' });
    expect(parseSse(whole.slice(0, -1)).map((m) => m.id)).toEqual(['1']);
  });
});
