import { describe, expect, it } from 'vitest';
import { passOnHeaders } from './http-headers.ts';

describe('passOnHeaders', () => {
  it('drops hop-by-hop headers and the extra ones, keeps the rest', () => {
    expect(passOnHeaders({ connection: 'close', host: 'gw', 'x-a': '1', 'x-b': '2' }, new Set(['x-b']))).toEqual({ 'x-a': '1' });
  });

  it("never passes the web app's admin session cookie on to a function, and keeps the caller's other cookies", () => {
    expect(passOnHeaders({ cookie: 'spindle_session=abc.def' })).toEqual({});
    expect(passOnHeaders({ cookie: 'spindle_session=abc; theme=dark' })).toEqual({ cookie: 'theme=dark' });
    expect(passOnHeaders({ cookie: 'a=1; spindle_session=abc; b=2' })).toEqual({ cookie: 'a=1; b=2' });
    expect(passOnHeaders({ cookie: 'a=1;spindle_session=abc' })).toEqual({ cookie: 'a=1' });
    expect(passOnHeaders({ cookie: 'not_spindle_session=1' })).toEqual({ cookie: 'not_spindle_session=1' });
  });
});
