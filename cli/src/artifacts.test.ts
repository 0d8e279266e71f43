/** The `--file` / `--download` plumbing of `spindle run` (the uploads themselves run against a real gateway in tests/pipeline.test.ts). */
import { describe, expect, it } from 'vitest';
import { artifactKeysIn, fileFlags, setField } from './artifacts.ts';

describe('spindle run --file / --download', () => {
  it('parses field=path, refusing a pair without a field or a path', () => {
    expect(fileFlags(['portrait=me.jpg', 'background.image=a=b.png'])).toEqual([
      { field: 'portrait', path: 'me.jpg' },
      { field: 'background.image', path: 'a=b.png' },
    ]);
    for (const bad of ['me.jpg', '=me.jpg', 'portrait=']) expect(() => fileFlags([bad])).toThrow(/--file expects field=path/);
  });

  it('puts a key at a top-level or dotted field, keeping the rest of the input', () => {
    expect(setField({ prompt: 'tea' }, 'portrait', 'uploads/a.jpg')).toEqual({ prompt: 'tea', portrait: 'uploads/a.jpg' });
    expect(setField(undefined, 'background.image', 'uploads/b.png')).toEqual({ background: { image: 'uploads/b.png' } });
    expect(setField({ background: { color: '#000000' } }, 'background.image', 'k.png')).toEqual({ background: { color: '#000000', image: 'k.png' } });
  });

  it('finds the media keys an output names, and nothing else', () => {
    const output = { video: 'videos/ab.mp4', duration: 4.2, title: 'Tea. A story.mp4 of', nested: [{ audio: 'speech/c.wav' }], path: '../x.mp4' };
    expect(artifactKeysIn(output).sort()).toEqual(['speech/c.wav', 'videos/ab.mp4']);
  });
});
