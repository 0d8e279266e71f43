import { describe, expect, it } from 'vitest';
import { pack, unpack } from './envelope.ts';

describe('async envelope', () => {
  it('round-trips metadata and binary bodies byte for byte', () => {
    const body = Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 13, 0]);
    const { meta, body: back } = unpack<{ a: string; n: number }>(pack({ a: 'é\n"x"', n: 3 }, body));
    expect(meta).toEqual({ a: 'é\n"x"', n: 3 });
    expect(Buffer.compare(back, body)).toBe(0);
  });

  it('packs an empty body, and reads a view into a larger buffer', () => {
    const packed = pack({ k: 1 });
    const framed = Buffer.concat([Buffer.from('xx'), packed, Buffer.from('yy')]);
    const view = new Uint8Array(framed.buffer, framed.byteOffset + 2, packed.length);
    const { meta, body } = unpack<{ k: number }>(view);
    expect(meta.k).toBe(1);
    expect(body.length).toBe(0);
  });

  it('rejects truncated payloads', () => {
    expect(() => unpack(new Uint8Array([0, 0]))).toThrow(/shorter/);
    expect(() => unpack(new Uint8Array([0, 0, 0, 9, 1]))).toThrow(/truncated/);
  });
});
