/** The SSE writer's frames, byte for byte (tests/sse.test.ts reads them back with a spec-conformant parser). */
import { describe, expect, it } from 'vitest';
import { formatComment, formatEvent } from './sse.ts';

describe('formatEvent', () => {
  it('writes id, event and data in that order, ending with a blank line', () => {
    expect(formatEvent({ id: 3, event: 'node.started', data: '{"seq":3}' })).toBe('id: 3\nevent: node.started\ndata: {"seq":3}\n\n');
    expect(formatEvent({ id: '0a1b2c3d-42', data: 'x' })).toBe('id: 0a1b2c3d-42\ndata: x\n\n');
    expect(formatEvent({ data: 'x' })).toBe('data: x\n\n');
    expect(formatEvent({ retry: 2000, data: 'x' })).toBe('retry: 2000\ndata: x\n\n');
  });

  it('splits data at every kind of line break into one data line each, empty lines included', () => {
    expect(formatEvent({ data: 'one\ntwo' })).toBe('data: one\ndata: two\n\n');
    expect(formatEvent({ data: 'one\r\ntwo\rthree' })).toBe('data: one\ndata: two\ndata: three\n\n');
    expect(formatEvent({ data: 'a\n\nb\n' })).toBe('data: a\ndata:\ndata: b\ndata:\n\n');
    expect(formatEvent({ data: '' })).toBe('data:\n\n');
    // A blank line inside data must not end the event, nor may a line that looks like a field start one.
    expect(formatEvent({ data: 'x\n\nid: 99\nevent: forged' })).toBe('data: x\ndata:\ndata: id: 99\ndata: event: forged\n\n');
    // The parser strips one space after the colon: a line's own leading spaces survive.
    expect(formatEvent({ data: '  indented' })).toBe('data:   indented\n\n');
  });

  it('refuses an id or event type that would break out of its line, and a bad retry', () => {
    expect(() => formatEvent({ id: '1\n2', data: 'x' })).toThrow(/"id" must be one line/);
    expect(() => formatEvent({ id: 'a\0b', data: 'x' })).toThrow(/"id"/);
    expect(() => formatEvent({ event: 'log\r\ndata: forged', data: 'x' })).toThrow(/"event" must be one line/);
    expect(() => formatEvent({ retry: -1, data: 'x' })).toThrow(/"retry"/);
    expect(() => formatEvent({ retry: 1.5, data: 'x' })).toThrow(/"retry"/);
  });
});

describe('formatComment', () => {
  it('writes each line as a comment, ending with a blank line', () => {
    expect(formatComment('ping')).toBe(': ping\n\n');
    expect(formatComment('two\nlines')).toBe(': two\n: lines\n\n');
    expect(formatComment('')).toBe(':\n\n');
  });
});
