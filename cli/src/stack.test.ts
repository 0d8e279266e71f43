import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StackInvalidError, StackNotFoundError, UsageError } from './errors.ts';
import { loadGraphs } from './graphs.ts';
import { loadStack, parseStack, selectFunctions } from './stack.ts';

const valid = `# my stack
version: 1.0
provider:
  name: spindle
  gateway: http://127.0.0.1:9999
functions:
  echo:
    lang: control
    handler: ./functions/echo
    environment:
      RETRIES: 3
      DEBUG: true
  hello-world:
    handler: ./functions/hello
`;

function errorOf(text: string): StackInvalidError {
  try {
    parseStack(text, 'stack.yml');
  } catch (err) {
    if (err instanceof StackInvalidError) return err;
    throw err;
  }
  throw new Error('expected the stack to be rejected');
}

describe('parseStack', () => {
  it('accepts a valid stack and fills in the default lang', () => {
    const stack = parseStack(valid);
    expect(stack.provider.gateway).toBe('http://127.0.0.1:9999');
    expect(Object.keys(stack.functions)).toEqual(['echo', 'hello-world']);
    expect(stack.functions['hello-world']!.lang).toBe('control');
    expect(stack.functions.echo!.environment).toEqual({ RETRIES: 3, DEBUG: true });
  });

  it('names the line of a YAML syntax error', () => {
    const err = errorOf('provider:\n  name: spindle\nfunctions:\n  echo: [1, 2\n  other: 3\n');
    expect(err.message).toMatch(/^stack\.yml:\d+:\d+: /);
    expect(err.line).toBeGreaterThanOrEqual(4);
  });

  it('points a schema violation at the offending key', () => {
    const text = ['version: 1.0', 'provider:', '  name: spindle', '', 'functions:', '  echo:', '    lang: rust', '    handler: ./functions/echo', ''].join('\n');
    expect(errorOf(text).message).toBe('stack.yml:7:5: functions.echo.lang must be one of "control", "gpu"');
  });

  it('points an unknown field at its line', () => {
    const text = 'provider:\n  name: spindle\nfunctions:\n  echo:\n    handler: ./functions/echo\n    memory: 128Mi\n';
    expect(errorOf(text).message).toBe('stack.yml:6:5: functions.echo.memory is not a known field');
  });

  it('says which function name is invalid and where', () => {
    const text = 'provider:\n  name: spindle\nfunctions:\n  ok:\n    handler: ./a\n  Bad_Name:\n    handler: ./b\n';
    const err = errorOf(text);
    expect(err.message).toMatch(/^stack\.yml:6:3: "Bad_Name" is not a valid function name/);
  });

  it('rejects duplicate keys with their line', () => {
    const text = 'provider:\n  name: spindle\nfunctions:\n  echo:\n    handler: ./a\n  echo:\n    handler: ./b\n';
    expect(errorOf(text).message).toBe('stack.yml:6:3: duplicate key "echo": each key may appear once');
  });

  it('reports a missing required field at its parent', () => {
    const text = 'provider:\n  name: spindle\nfunctions:\n  echo:\n    lang: control\n';
    expect(errorOf(text).message).toBe('stack.yml:4:3: functions.echo.handler is required');
    expect(errorOf('provider:\n  name: spindle\n').message).toBe('stack.yml:1:1: functions is required');
  });

  it('rejects an empty file', () => {
    expect(errorOf('# nothing\n').message).toMatch(/^stack\.yml:1:1: the file is empty/);
  });

  const head = 'provider:\n  name: spindle\nfunctions:\n  echo:\n    handler: ./functions/echo\n';

  it('accepts version 1.0 as faas-cli does, written plain or quoted, and points at any other value', () => {
    for (const ok of ['1.0', '"1.0"', "'1.0'"]) expect(parseStack(`version: ${ok}\n${head}`).version).toBe('1.0');
    for (const bad of ['abc', '"abc"', '1', '1.00', '2.0', 'true', '[1.0]']) expect(errorOf(`version: ${bad}\n${head}`).message, bad).toBe('stack.yml:1:10: version must be "1.0"');
    expect(errorOf(`${head}version: 2\n`).message).toBe('stack.yml:6:10: version must be "1.0"');
  });

  it('stops a YAML alias bomb with the line of an alias', () => {
    const lines = [head.trimEnd(), 'configuration:', '  a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const c of 'bcdefghij') lines.push(`  ${c}: &${c} [${new Array(10).fill(`*${String.fromCharCode(c.charCodeAt(0) - 1)}`).join(', ')}]`);
    const err = errorOf(lines.join('\n'));
    expect(err.message).toMatch(/^stack\.yml:8:\d+: aliases \(\*name\) expand to too much data/);
  });

  it('refuses nesting past 64 levels, in flow and block style, before YAML recurses into it', () => {
    expect(errorOf(`${head}configuration:\n  x: ${'['.repeat(5000)}${']'.repeat(5000)}\n`).message).toBe('stack.yml:7:68: configuration is nested deeper than 64 levels');
    const block = Array.from({ length: 70 }, (_, i) => `${' '.repeat(i + 2)}k${i}:`).join('\n');
    expect(errorOf(`${head}configuration:\n${block} 1\n`).message).toMatch(/^stack\.yml:\d+:\d+: configuration is nested deeper than 64 levels$/);
    // 60 levels are fine.
    expect(parseStack(`${head}configuration:\n  x: ${'['.repeat(60)}${']'.repeat(60)}\n`).configuration).toBeDefined();
  });

  it('holds what aliases build to the same depth', () => {
    const lines = [head.trimEnd(), 'configuration:', `  a: &a ${'['.repeat(40)}1${']'.repeat(40)}`, `  b: ${'['.repeat(40)}*a${']'.repeat(40)}`];
    expect(errorOf(lines.join('\n')).message).toMatch(/^stack\.yml:\d+:\d+: configuration is nested deeper than 64 levels$/);
  });
});

describe('stacks faas-cli reads too', () => {
  const head = 'provider:\n  name: openfaas\nfunctions:\n  echo:\n    handler: ./functions/echo\n';

  it('parses the default stack.yml with provider openfaas, and still reads provider spindle', async () => {
    const text = await readFile(new URL('../../stack.yml', import.meta.url), 'utf8');
    expect(parseStack(text).provider).toEqual({ name: 'openfaas', gateway: 'http://127.0.0.1:8080' });
    expect(parseStack(text.replace('\n  name: openfaas\n', '\n  name: spindle\n')).provider.name).toBe('spindle');
    expect(parseStack(valid).provider.name).toBe('spindle');
  });

  it('holds configuration to the shape faas-cli decodes (templates and copy), other keys free', () => {
    expect(parseStack(`${head}configuration:\n  templates: [{ name: node20, source: https://example.com/t.git }]\n  copy: [common]\n  other: 1\n`).configuration).toBeDefined();
    expect(errorOf(`${head}configuration:\n  templates: node20\n`).message).toBe('stack.yml:7:3: configuration.templates must be array');
    expect(errorOf(`${head}configuration:\n  copy: [[a]]\n`).message).toBe('stack.yml:7:10: configuration.copy.0 must be string');
  });

  it('refuses a ${ that faas-cli cannot substitute, anywhere in the file, and accepts the ones it can', () => {
    expect(errorOf(`${head}graphs:\n  g:\n    description: "costs \${PRICE"\n    nodes: { a: { function: echo } }\n`).message).toBe(
      'stack.yml:8:25: faas-cli would refuse this file: it reads ${...} as an environment variable, and cannot parse this one (missing closing brace); write $${ for a literal ${',
    );
    expect(errorOf(`${head}# see \${ below\n`).message).toMatch(/^stack\.yml:6:7: faas-cli would refuse this file: .*\(unable to parse variable name\)/);
    const fine = `${head.replace('./functions/echo', '"./functions/${FN:-echo}"')}    image: \${REGISTRY:-me}/echo:latest\n    environment:\n      literal: $\${HOME} $5 {{ x }}\n`;
    const stack = parseStack(fine);
    // Spindle does not substitute: it reads the text as written.
    expect(stack.functions.echo!.environment).toEqual({ literal: '$${HOME} $5 {{ x }}' });
  });

  it('refuses a double-quoted backslash escape that faas-cli rewrites into invalid YAML, and accepts it in single quotes', () => {
    const graph = (pattern: string) => `${head}graphs:\n  g:\n    input: { type: string, pattern: ${pattern} }\n    nodes: { a: { function: echo } }\n`;
    expect(errorOf(graph('"^\\\\d+$"')).message).toBe(
      'stack.yml:8:40: faas-cli would refuse this file: before parsing it, its environment substitution turns \\\\ into \\, \\/ into / and $$ into $, ' +
        'which leaves invalid YAML here (Invalid escape sequence \\d); write the value in single quotes, where a backslash needs no escaping',
    );
    expect(parseStack(graph("'^\\d+$'")).graphs).toBeDefined();
    expect(parseStack(graph('"^\\\\\\\\d"')).graphs).toBeDefined();
  });

  it('refuses keys that only differ by $$, which faas-cli reads as the same key', () => {
    expect(errorOf(`${head}configuration: { $$a: 1, $a: 2 }\n`).message).toMatch(/^stack\.yml:6:\d+: faas-cli would refuse this file: .*\(duplicate key "\$a": each key may appear once\)$/);
  });
});

describe('loadStack', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'spindle-stack-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves handler folders against the stack folder', async () => {
    await writeFile(path.join(dir, 'stack.yml'), valid);
    const stack = await loadStack('stack.yml', { cwd: dir });
    expect(stack.dir).toBe(dir);
    expect(stack.functions.map((f) => [f.name, f.handlerDir])).toEqual([
      ['echo', path.join(dir, 'functions/echo')],
      ['hello-world', path.join(dir, 'functions/hello')],
    ]);
  });

  it('names the file relative to cwd in errors', async () => {
    await writeFile(path.join(dir, 'other.yml'), 'provider:\n  name: nope\nfunctions: {}\n');
    await expect(loadStack('other.yml', { cwd: dir })).rejects.toThrow('other.yml:2:3: provider.name must be one of "openfaas", "spindle"');
  });

  it('fails clearly when the file is missing', async () => {
    await expect(loadStack('stack.yml', { cwd: dir })).rejects.toBeInstanceOf(StackNotFoundError);
  });

  it('refuses handlers and environment files outside the stack folder, by path or by symlink', async () => {
    const outside = await mkdtemp(path.join(os.tmpdir(), 'spindle-outside-'));
    try {
      await writeFile(path.join(dir, 'stack.yml'), 'provider:\n  name: spindle\nfunctions:\n  echo:\n    handler: /tmp\n');
      await expect(loadStack('stack.yml', { cwd: dir })).rejects.toThrow(/^stack\.yml:5:14: functions\.echo\.handler "\/tmp" leads outside the project folder/);
      await symlink(outside, path.join(dir, 'fn'));
      await writeFile(path.join(dir, 'stack.yml'), 'provider:\n  name: spindle\nfunctions:\n  echo:\n    handler: ./fn/not-yet-there\n');
      await expect(loadStack('stack.yml', { cwd: dir })).rejects.toThrow(/handler "\.\/fn\/not-yet-there" resolves through a symlink to .*spindle-outside-.*, outside the project folder/);
      await writeFile(path.join(dir, 'stack.yml'), 'provider:\n  name: spindle\nfunctions:\n  echo:\n    handler: ./here\n    environment_file: [env.yml, ../env.yml]\n');
      await expect(loadStack('stack.yml', { cwd: dir })).rejects.toThrow(/^stack\.yml:6:33: functions\.echo\.environment_file\.1 "\.\.\/env\.yml" leads outside/);
      // A symlink that stays inside is fine.
      await mkdir(path.join(dir, 'real'));
      await symlink(path.join(dir, 'real'), path.join(dir, 'alias'));
      await writeFile(path.join(dir, 'stack.yml'), 'provider:\n  name: spindle\nfunctions:\n  echo:\n    handler: ./alias\n');
      expect((await loadStack('stack.yml', { cwd: dir })).functions[0]!.handlerDir).toBe(path.join(dir, 'alias'));
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('filters functions by name or wildcard', async () => {
    await writeFile(path.join(dir, 'stack.yml'), valid);
    const stack = await loadStack('stack.yml', { cwd: dir });
    expect(selectFunctions(stack, 'echo').map((f) => f.name)).toEqual(['echo']);
    expect(selectFunctions(stack, 'hello-*').map((f) => f.name)).toEqual(['hello-world']);
    expect(selectFunctions(stack).length).toBe(2);
    expect(() => selectFunctions(stack, 'nope')).toThrow(UsageError);
  });
});

describe('loadGraphs', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'spindle-graphs-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const head = 'provider:\n  name: spindle\nfunctions:\n  one:\n    handler: ./one\n  two:\n    handler: ./two\n';
  const load = async (text: string, files: Record<string, string> = {}) => {
    await writeFile(path.join(dir, 'stack.yml'), text);
    for (const [name, body] of Object.entries(files)) await writeFile(path.join(dir, name), body);
    return loadGraphs(await loadStack('stack.yml', { cwd: dir }));
  };

  it('checks inline graphs as the gateway would, pointing at the field', async () => {
    const cycle = `${head}graphs:\n  loop:\n    nodes:\n      a:\n        function: one\n        needs: [b]\n      b:\n        function: two\n        needs: [a]\n`;
    await expect(load(cycle)).rejects.toThrow('stack.yml:13:9: graph loop: node "a" field "needs": the graph has a cycle through nodes "a", "b"');
    const badInput = `${head}graphs:\n  g:\n    input: { type: nope }\n    nodes:\n      a: { function: one }\n`;
    await expect(load(badInput)).rejects.toThrow(/^stack\.yml:10:5: graph g: field "input" is not a JSON Schema Spindle can use/);
    const ok = await load(`${head}graphs:\n  g:\n    nodes:\n      a: { function: one }\n      b: { function: two, input: '{{ nodes.a.output }}' }\n`);
    expect(ok.map((g) => g.name)).toEqual(['g']);
  });

  it('reads graph files within bounds, pointing at their own lines', async () => {
    await expect(load(`${head}graphs:\n  g:\n    file: g.yml\n`, { 'g.yml': 'nodes:\n  a:\n    function: one\n    needs: [ghost]\n' })).rejects.toThrow(
      'g.yml:4:5: graph g: node "a" field "needs": names node "ghost", which the graph does not have',
    );
    await expect(load(`${head}graphs:\n  g:\n    file: g.json\n`, { 'g.json': `{"nodes":{"a":{"function":"one","input":${'['.repeat(5000)}${']'.repeat(5000)}}}}` })).rejects.toThrow(
      /^g\.json:1:\d+: nodes is nested deeper than 64 levels$/,
    );
  });

  it('asks the gateway only about functions the stack lacks', async () => {
    const text = `${head}graphs:\n  g:\n    nodes:\n      a: { function: one }\n      b: { function: elsewhere, needs: [a] }\n`;
    await writeFile(path.join(dir, 'stack.yml'), text);
    const stack = await loadStack('stack.yml', { cwd: dir });
    let asked = 0;
    const deployed = (names: string[]) => async () => {
      asked++;
      return new Set(names);
    };
    expect((await loadGraphs(stack, { deployed: deployed(['elsewhere']) })).length).toBe(1);
    await expect(loadGraphs(stack, { deployed: deployed([]) })).rejects.toThrow('stack.yml:12:12: graph g: node "b" field "function": function "elsewhere" is not deployed');
    expect(asked).toBe(2);
    await writeFile(path.join(dir, 'stack.yml'), `${head}graphs:\n  g:\n    nodes:\n      a: { function: one }\n`);
    await loadGraphs(await loadStack('stack.yml', { cwd: dir }), { deployed: deployed([]) });
    expect(asked).toBe(2);
  });
});
