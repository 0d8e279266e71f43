/** The DAG layout: dependencies from mappings, `needs` and `when`, ranks top to bottom, conditions on edges, refusals. */
import { describe, expect, it } from 'vitest';
import { layoutGraph } from './layout.ts';
import type { GraphDefinition } from '../types.ts';

const demo: GraphDefinition = {
  input: { type: 'object', properties: { name: { type: 'string' } } },
  nodes: {
    greet: { function: 'greet', input: { name: '{{ input.name }}' } },
    shout: { function: 'shout', input: { text: '{{ nodes.greet.output.greeting }}' } },
    count: { function: 'wordcount', input: { text: '{{ nodes.greet.output.greeting }}' } },
    report: { function: 'report', input: { loud: '{{ nodes.shout.output.text }}', words: '{{ nodes.count.output.words }}' } },
  },
};

describe('layoutGraph', () => {
  it('draws the demo graph as greet → (shout ∥ count) → report', () => {
    const l = layoutGraph(demo);
    const at = Object.fromEntries(l.nodes.map((n) => [n.id, n]));
    expect(l.edges.map((e) => `${e.from}->${e.to}`).sort()).toEqual(['count->report', 'greet->count', 'greet->shout', 'shout->report']);
    // Ranks go down the page; the two branches sit side by side on one rank.
    expect(at.greet.y).toBeLessThan(at.shout.y);
    expect(at.shout.y).toBe(at.count.y);
    expect(at.shout.x).not.toBe(at.count.x);
    expect(at.report.y).toBeGreaterThan(at.shout.y);
    expect(l.order[0]).toBe('greet');
    expect(l.order.at(-1)).toBe('report');
    // Nothing overlaps and everything fits the drawing.
    for (const a of l.nodes) {
      expect(a.x).toBeGreaterThanOrEqual(0);
      expect(a.x + a.width).toBeLessThanOrEqual(l.width + 0.5);
      expect(a.y + a.height).toBeLessThanOrEqual(l.height + 0.5);
      for (const b of l.nodes) if (a !== b) expect(a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y).toBe(true);
    }
    for (const e of l.edges) expect(e.points.length).toBeGreaterThanOrEqual(2);
  });

  it('takes needs and when into account and labels the conditional edge', () => {
    const l = layoutGraph({
      nodes: {
        vad: { function: 'vad' },
        transcribe: { function: 'stt', when: 'nodes.vad.output.speech == true' },
        notify: { function: 'echo', needs: ['transcribe'] },
      },
    });
    const edges = Object.fromEntries(l.edges.map((e) => [`${e.from}->${e.to}`, e]));
    expect(Object.keys(edges).sort()).toEqual(['transcribe->notify', 'vad->transcribe']);
    expect(edges['vad->transcribe'].when).toBe('nodes.vad.output.speech == true');
    expect(edges['transcribe->notify'].when).toBeUndefined();
    expect(l.nodes.find((n) => n.id === 'transcribe')!.when).toBe('nodes.vad.output.speech == true');
  });

  it('refuses a cycle with the gateway\'s message', () => {
    expect(() => layoutGraph({ nodes: { a: { function: 'f', needs: ['b'] }, b: { function: 'f', needs: ['a'] } } })).toThrow(/cycle through nodes "a", "b"/);
  });

  it('refuses a mapping that names a missing node', () => {
    expect(() => layoutGraph({ nodes: { a: { function: 'f', input: { x: '{{ nodes.zz.output }}' } } } })).toThrow(/names node "zz"/);
  });
});
