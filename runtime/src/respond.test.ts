/** What the watchdog treats as a web Response, without touching the `Response` global (which loads Node's undici). */
import { describe, expect, it } from 'vitest';
import { isRawResponse, isWebResponse } from './respond.ts';

describe('isWebResponse', () => {
  it('knows a Response by its tag, and nothing else', () => {
    expect(isWebResponse(new Response('x'))).toBe(true);
    class Mine extends Response {}
    expect(isWebResponse(new Mine('x'))).toBe(true);
    for (const v of [null, undefined, 'x', Buffer.from('x'), { status: 200, body: 'x' }, new Headers(), {}]) expect(isWebResponse(v)).toBe(false);
    expect(isRawResponse({ status: 200, body: 'x' })).toBe(true);
  });
});
