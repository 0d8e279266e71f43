import { describe, expect, it } from 'vitest';
import { MAX_SUBSTITUTION_DEPTH, parseEnvsubst } from './faas-envsubst.ts';

/** Literal text as `T:...`, substitutions as `F`: the shape drone/envsubst's parse tree has. */
function shape(text: string): string[] | string {
  const result = parseEnvsubst(text);
  if ('error' in result) return result.error;
  return result.parts.map((p) => ('text' in p ? `T:${p.text}` : 'F'));
}

// Each expectation was recorded from github.com/drone/envsubst's parser as vendored by faas-cli 0.16.37.
const recorded: Array<[string, string[] | string]> = [
  ['plain text: nothing to do', ['T:plain text: nothing to do']],
  ['a ${B} c', ['T:a ', 'F', 'T: c']],
  ['$${HOME} stays', ['T:${HOME} stays']],
  ['price $5 and $HOME stay', ['T:price $5 and $HOME stay']],
  ['\\\\d and \\/ and \\n', ['T:\\d and / and \\n']],
  ['${A:-default} ${A=x} ${A:=x} ${A:?msg} ${A:+alt}', ['F', 'T: ', 'F', 'T: ', 'F', 'T: ', 'F', 'T: ', 'F']],
  ['${A:1} ${A:1:2} ${#A} ${A,} ${A,,} ${A^} ${A^^}', ['F', 'T: ', 'F', 'T: ', 'F', 'T: ', 'F', 'T: ', 'F', 'T: ', 'F', 'T: ', 'F']],
  ['${A#x} ${A##x} ${A%x} ${A%%x} ${A/x/y} ${A//x/y} ${A/#x/y} ${A/%x/y} ${A/x/}', ['F', 'T: ', 'F', 'T: ', 'F', 'T: ', 'F', 'T: ', 'F', 'T: ', 'F', 'T: ', 'F', 'T: ', 'F', 'T: ', 'F']],
  ['${A:-${B:-c}}', ['F']],
  ['${', 'unable to parse variable name'],
  ['${A', 'missing closing brace'],
  ['${A:-x', 'unable to parse substitution within function'],
  ['${}', 'unable to parse variable name'],
  ['${ A}', 'unable to parse variable name'],
  ['${A B}', 'missing closing brace'],
  ['${A:x}', ['F']],
  ['${#}', 'bad substitution'],
  ['${A,x}', 'bad substitution'],
  ['${A/x}', 'bad substitution'],
  ['{{ input.name }}', ['T:{{ input.name }}']],
  ['é${Ä}😀', ['T:é', 'F', 'T:😀']],
  ['$', ['T:$']],
  ['ends with $', ['T:ends with $']],
];

describe('parseEnvsubst (faas-cli --envsubst)', () => {
  it.each(recorded)('%j parses as drone/envsubst does', (text, expected) => {
    expect(shape(text)).toEqual(expected);
  });

  it('keeps the offset of every character it keeps, and of every substitution', () => {
    const text = 'ab\\\\c ${X:-y} $$';
    const result = parseEnvsubst(text);
    if ('error' in result) throw new Error(result.error);
    const [first, sub, last] = result.parts;
    expect(first).toEqual({ text: 'ab\\c ', origin: [0, 1, 3, 4, 5] });
    expect(sub).toEqual({ substitution: '${X:-y}', offset: 6 });
    expect(last).toEqual({ text: ' $', origin: [13, 15] });
  });

  it('points an error at the ${ that does not parse', () => {
    expect(parseEnvsubst('ok: 1\nbad: "${A"\n')).toEqual({ error: 'missing closing brace', offset: 12 });
  });

  it('refuses substitutions nested past the limit instead of overflowing the stack', () => {
    const deep = `${'${A:-'.repeat(MAX_SUBSTITUTION_DEPTH + 1)}x${'}'.repeat(MAX_SUBSTITUTION_DEPTH + 1)}`;
    expect(shape(deep)).toBe(`substitutions nested deeper than ${MAX_SUBSTITUTION_DEPTH} levels`);
    const fine = `${'${A:-'.repeat(MAX_SUBSTITUTION_DEPTH)}x${'}'.repeat(MAX_SUBSTITUTION_DEPTH)}`;
    expect(shape(fine)).toEqual(['F']);
    expect(shape(`${'${A:-'.repeat(10_000)}`)).toMatch(/nested deeper/);
  });
});
