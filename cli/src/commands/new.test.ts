import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FunctionExistsError, InvalidNameError, UnsupportedLangError } from '../errors.ts';
import { parseStack } from '../stack.ts';
import { newFunction } from './new.ts';

const original = `# Team stack: keep the comments!
version: 1.0
provider:
  name: spindle   # local gateway
  gateway: http://127.0.0.1:8080

functions:
  # Answers the body back.
  zeta:
    lang: control
    handler: ./functions/zeta
    labels:
      com.openfaas.scale.min: "1"

  alpha:
    handler: ./functions/alpha   # trailing comment

graphs: {}
`;

describe('spindle new', () => {
  let dir: string;
  let stackFile: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'spindle-new-'));
    stackFile = path.join(dir, 'stack.yml');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('adds the entry after the others and keeps comments, order and quoting', async () => {
    await writeFile(stackFile, original);
    const handler = await newFunction({ name: 'hello', lang: 'control', stackFile, cwd: dir });
    expect(handler).toBe(path.join(dir, 'functions/hello/handler.ts'));
    const text = await readFile(stackFile, 'utf8');
    const anchor = '    handler: ./functions/alpha   # trailing comment\n';
    expect(text).toBe(original.replace(anchor, `${anchor}  hello:\n    lang: control\n    handler: ./functions/hello\n`));
    const stack = parseStack(text);
    expect(stack.functions.hello).toEqual({ lang: 'control', handler: './functions/hello' });
    const source = await readFile(handler, 'utf8');
    expect(source).toContain("from '@spindle/runtime'");
    expect(source).toContain('defineFunction(');
  });

  it('keeps a four-space indentation', async () => {
    await writeFile(stackFile, 'provider:\n    name: spindle\nfunctions:\n    a:\n        handler: ./functions/a\n');
    await newFunction({ name: 'b', lang: 'control', stackFile, cwd: dir });
    expect(await readFile(stackFile, 'utf8')).toBe(
      'provider:\n    name: spindle\nfunctions:\n    a:\n        handler: ./functions/a\n    b:\n        lang: control\n        handler: ./functions/b\n',
    );
  });

  it('falls back to the Document API for a flow-style functions map, keeping comments', async () => {
    await writeFile(stackFile, '# top comment\nprovider: {name: spindle}\nfunctions: {a: {handler: ./functions/a}}  # inline\n');
    await newFunction({ name: 'b', lang: 'control', stackFile, cwd: dir });
    const text = await readFile(stackFile, 'utf8');
    expect(text).toContain('# top comment');
    expect(text).toContain('# inline');
    expect(Object.keys(parseStack(text).functions)).toEqual(['a', 'b']);
  });

  it('creates stack.yml when there is none, with the provider name faas-cli accepts', async () => {
    await newFunction({ name: 'first', lang: 'control', stackFile, cwd: dir });
    const stack = parseStack(await readFile(stackFile, 'utf8'));
    expect(stack.provider.name).toBe('openfaas');
    expect(Object.keys(stack.functions)).toEqual(['first']);
  });

  it('writes stacks that parse with provider openfaas: fresh, control and gpu, and added to the default stack.yml', async () => {
    await newFunction({ name: 'ctl', lang: 'control', stackFile, cwd: dir });
    await newFunction({ name: 'gpu', lang: 'gpu', stackFile, cwd: dir });
    const fresh = parseStack(await readFile(stackFile, 'utf8'));
    expect(fresh.provider.name).toBe('openfaas');
    expect(fresh.functions).toEqual({ ctl: { lang: 'control', handler: './functions/ctl' }, gpu: { lang: 'gpu', handler: './functions/gpu' } });

    const defaultStack = await readFile(new URL('../../../stack.yml', import.meta.url), 'utf8');
    await writeFile(stackFile, defaultStack);
    await newFunction({ name: 'added', lang: 'gpu', stackFile, cwd: dir });
    const added = parseStack(await readFile(stackFile, 'utf8'));
    expect(added.provider.name).toBe('openfaas');
    expect(added.functions.added).toEqual({ lang: 'gpu', handler: './functions/added' });
    expect(Object.keys(added.graphs ?? {})).toEqual(['demo', 'talking-portrait']);
  });

  it('fills an empty functions: section', async () => {
    await writeFile(stackFile, 'provider:\n  name: spindle\nfunctions:\n');
    await newFunction({ name: 'one', lang: 'control', stackFile, cwd: dir });
    expect(Object.keys(parseStack(await readFile(stackFile, 'utf8')).functions)).toEqual(['one']);
  });

  it('refuses an existing stack entry without writing any file', async () => {
    await writeFile(stackFile, original);
    await expect(newFunction({ name: 'alpha', lang: 'control', stackFile, cwd: dir })).rejects.toBeInstanceOf(FunctionExistsError);
    expect(existsSync(path.join(dir, 'functions/alpha'))).toBe(false);
    expect(await readFile(stackFile, 'utf8')).toBe(original);
  });

  it('refuses an existing folder without touching stack.yml', async () => {
    await writeFile(stackFile, original);
    await mkdir(path.join(dir, 'functions/fresh'), { recursive: true });
    await expect(newFunction({ name: 'fresh', lang: 'control', stackFile, cwd: dir })).rejects.toThrow('functions/fresh already exists');
    expect(await readFile(stackFile, 'utf8')).toBe(original);
  });

  it('scaffolds a GPU function (handler and model recipe) marked lang: gpu', async () => {
    const handler = await newFunction({ name: 'infer', lang: 'gpu', stackFile, cwd: dir });
    expect(await readFile(handler, 'utf8')).toContain('defineGpuFunction');
    expect(existsSync(path.join(path.dirname(handler), 'model.onnx.ts'))).toBe(true);
    expect(await readFile(stackFile, 'utf8')).toMatch(/infer:\n\s+lang: gpu/);
  });

  it('rejects invalid names and unknown langs', async () => {
    await expect(newFunction({ name: 'My_Func', lang: 'control', stackFile, cwd: dir })).rejects.toBeInstanceOf(InvalidNameError);
    await expect(newFunction({ name: 'ok', lang: 'python', stackFile, cwd: dir })).rejects.toBeInstanceOf(UnsupportedLangError);
    expect(existsSync(stackFile)).toBe(false);
  });
});
