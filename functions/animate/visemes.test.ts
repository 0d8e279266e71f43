/** Phonemes → visemes and the blended mouth shape per frame, on made-up timings. */
import { describe, expect, it } from 'vitest';
import { SHAPES, shapeTrack, visemeOf } from './visemes.ts';

describe('visemeOf', () => {
  it('maps Flite phones to Preston Blair visemes, stress and case ignored', () => {
    expect(['m', 'b', 'p'].map(visemeOf)).toEqual(['MBP', 'MBP', 'MBP']);
    expect(['f', 'v'].map(visemeOf)).toEqual(['FV', 'FV']);
    expect(visemeOf('AA1')).toBe('AI');
    expect(visemeOf('iy')).toBe('E');
    expect(visemeOf('ow')).toBe('O');
    expect(visemeOf('uw')).toBe('U');
    expect(visemeOf('w')).toBe('WQ');
    expect(visemeOf('l')).toBe('L');
    expect(visemeOf('k')).toBe('CDGK');
    expect(visemeOf('pau')).toBe('rest');
    expect(visemeOf('nonsense')).toBe('rest');
  });

  it('gives open vowels more opening than closures, rounded vowels a narrower mouth than spread ones', () => {
    expect(SHAPES.AI.open).toBeGreaterThan(SHAPES.E.open);
    expect(SHAPES.MBP.open).toBe(0);
    expect(SHAPES.U.width).toBeLessThan(0);
    expect(SHAPES.E.width).toBeGreaterThan(0);
  });
});

describe('shapeTrack', () => {
  const fps = 25;
  const at = (t: number) => Math.round(t * fps);

  it('holds a long vowel\'s shape, rests in silence, and blends across a boundary', () => {
    const { open, width } = shapeTrack([{ phone: 'aa', start: 0.4, end: 1.0 }, { phone: 'iy', start: 1.0, end: 1.6 }], fps, 60);
    expect(open[at(0.2)]).toBe(0);
    expect(open[at(0.7)]).toBeCloseTo(SHAPES.AI.open, 5);
    expect(width[at(1.3)]).toBeCloseTo(SHAPES.E.width, 5);
    // At the boundary, between the two (co-articulation), not a jump.
    expect(open[at(1.0)]).toBeGreaterThan(SHAPES.E.open + 0.1);
    expect(open[at(1.0)]).toBeLessThan(SHAPES.AI.open - 0.1);
    expect(open[at(2.0)]).toBe(0);
  });

  it('shuts the mouth for a short /p/ between two open vowels (closures dominate)', () => {
    const { open } = shapeTrack(
      [
        { phone: 'aa', start: 0, end: 0.5 },
        { phone: 'p', start: 0.5, end: 0.56 },
        { phone: 'aa', start: 0.56, end: 1 },
      ],
      100,
      100,
    );
    // 60 ms of /p/ against a ±60 ms window: without dominance the vowel would keep it above 0.6.
    expect(open[53]).toBeLessThan(0.3);
    expect(open[20]).toBeCloseTo(1, 5);
  });
});
