/** Backgrounds and compositing: outside the matte the background exactly, inside the cut-out; a still pose changes nothing. */
import { describe, expect, it } from 'vitest';
import { compositeRegion, compositeTransformed, gradientBackground, parseColor, reachableSpans, solidBackground } from './composite.ts';
import { blinkTrack, mouthTrack, sway, swayReach } from './motion.ts';

describe('backgrounds', () => {
  it('fills a colour and a vertical two-colour gradient', () => {
    expect(parseColor('#10ff80')).toEqual([16, 255, 128]);
    expect(() => parseColor('red')).toThrow();
    const solid = solidBackground('#102030', 4, 3);
    expect(Array.from(solid.slice(-3))).toEqual([16, 32, 48]);
    const g = gradientBackground('#000000', '#ff0000', 2, 3);
    expect([g[0], g[6], g[12]]).toEqual([0, 128, 255]);
  });
});

describe('compositing', () => {
  const W = 8;
  const layer = new Uint8Array(W * W * 4);
  for (let p = 0; p < W * W; p++) layer.set([200, 100, 50, p % W < 4 ? 255 : p % W === 4 ? 128 : 0], p * 4);
  const bg = solidBackground('#0000ff', W, W);

  it('shows the background exactly where α = 0, the cut-out where α = 255, and blends between', () => {
    const out = new Uint8Array(W * W * 3);
    compositeRegion(layer, bg, out, W, 0, 0, W, W);
    expect(Array.from(out.slice(0, 3))).toEqual([200, 100, 50]);
    expect(Array.from(out.slice(7 * 3, 8 * 3))).toEqual([0, 0, 255]);
    expect(Array.from(out.slice(4 * 3, 5 * 3))).toEqual([100, 50, 152]);
  });

  it('gives the same frame through the sway path at a still pose', () => {
    const a = new Uint8Array(W * W * 3);
    const b = new Uint8Array(W * W * 3);
    compositeRegion(layer, bg, a, W, 0, 0, W, W);
    compositeTransformed(layer, bg, b, W, W, { angle: 0, dx: 0, dy: 0 }, [4, 8]);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1);
    // A whole-pixel shift moves the cut-out's edge by one column.
    compositeTransformed(layer, bg, b, W, W, { angle: 0, dx: 1, dy: 0 }, [4, 8]);
    expect(Array.from(b.slice(3 * 3, 4 * 3))).toEqual([200, 100, 50]);
    expect(Array.from(b.slice(0, 3))).toEqual([0, 0, 255]);
  });
});

describe('swaying within reachable spans', () => {
  it('draws the same frames as drawing every pixel', () => {
    const W = 64;
    // A disc of cut-out on a transparent layer: most of each row never shows anything but the background.
    const layer = new Uint8Array(W * W * 4);
    for (let y = 0; y < W; y++) {
      for (let x = 0; x < W; x++) if ((x - 30) ** 2 + (y - 36) ** 2 < 15 ** 2) layer.set([(x * 4) & 255, (y * 4) & 255, 90, 255], (y * W + x) * 4);
    }
    const bg = gradientBackground('#000000', '#ffffff', W, W);
    const pivot: [number, number] = [30, 60];
    const spans = reachableSpans(layer, W, W, Math.ceil(swayReach(2, Math.hypot(64, 64))) + 2);
    expect([spans[0], spans[1]]).toEqual([0, 0]); // row 0 is beyond reach: nothing to draw
    expect(spans[36 * 2 + 1] - spans[36 * 2]).toBeLessThan(W);
    for (const t of [0, 1.3, 2.9, 4.4]) {
      const all = new Uint8Array(W * W * 3);
      compositeTransformed(layer, bg, all, W, W, sway(t, 2), pivot);
      const some = Uint8Array.from(bg);
      compositeTransformed(layer, bg, some, W, W, sway(t, 2), pivot, spans);
      expect(some).toEqual(all);
    }
  });
});

describe('motion', () => {
  it('blinks every 2.5-5 s for 200 ms, reproducibly', () => {
    const fps = 25;
    const b = blinkTrack(fps, 30 * fps, 5);
    expect(Array.from(blinkTrack(fps, 30 * fps, 5))).toEqual(Array.from(b));
    const starts: number[] = [];
    for (let f = 1; f < b.length; f++) if (b[f] > 0 && b[f - 1] === 0) starts.push(f / fps);
    expect(starts.length).toBeGreaterThanOrEqual(5);
    expect(starts.length).toBeLessThanOrEqual(12);
    for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1]).toBeGreaterThanOrEqual(2.4);
    expect(Math.max(...b)).toBeGreaterThan(0.8);
    expect(Array.from(b).filter((v) => v > 0).length).toBeLessThanOrEqual(starts.length * 6);
  });

  it('keeps the mouth shut outside speech and opens it more for louder speech', () => {
    const rate = 16_000;
    const samples = new Float32Array(rate * 3);
    for (let i = rate; i < 2 * rate; i++) samples[i] = (i < 1.5 * rate ? 0.1 : 0.5) * Math.sin((2 * Math.PI * 250 * i) / rate);
    const phones = [{ phone: 'aa', start: 0, end: 3 }];
    const { open } = mouthTrack(phones, samples, rate, [{ start: 1, end: 2 }], 25, 75);
    expect(open[10]).toBe(0);
    expect(open[70]).toBe(0);
    expect(open[45]).toBeGreaterThan(open[32] + 0.2);
  });

  it('sways by less than a degree and two pixels, and not at all at amount 0', () => {
    for (let t = 0; t < 20; t += 0.37) {
      const p = sway(t, 1);
      expect(Math.abs(p.angle)).toBeLessThan((1 * Math.PI) / 180);
      expect(Math.hypot(p.dx, p.dy)).toBeLessThan(2);
    }
    expect(Object.values(sway(3, 0)).every((v) => v === 0)).toBe(true);
  });
});
