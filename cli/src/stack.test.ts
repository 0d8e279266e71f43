import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StackInvalidError, StackNotFoundError, UsageError } from './errors.ts';
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
    await expect(loadStack('other.yml', { cwd: dir })).rejects.toThrow('other.yml:2:3: provider.name must be one of "spindle", "openfaas"');
  });

  it('fails clearly when the file is missing', async () => {
    await expect(loadStack('stack.yml', { cwd: dir })).rejects.toBeInstanceOf(StackNotFoundError);
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
