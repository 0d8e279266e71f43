/** stack.yml: load and validate it, with errors that point at file:line:col. */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import YAML, { isAlias, isMap, isScalar, isSeq, type Document, type Node } from 'yaml';
import { fieldName, isValidName, validateStackFile, type StackFile, type StackFunction } from '@spindle/schemas';
import { InvalidNameError, StackInvalidError, StackNotFoundError, UsageError } from './errors.ts';

/** One function of a loaded stack, with its handler folder made absolute. */
export interface StackEntry {
  name: string;
  spec: StackFunction;
  /** Absolute folder holding `handler.ts`. */
  handlerDir: string;
}

/** A validated stack file and where it lives. */
export interface LoadedStack {
  /** Absolute path of the stack file. */
  file: string;
  /** Folder of the stack file: handlers, environment files and `.spindle/` are relative to it. */
  dir: string;
  stack: StackFile;
  functions: StackEntry[];
}

/** YAML options for every stack read: merge keys (`<<:`) allowed, duplicate keys refused. */
export const parseOptions = { prettyErrors: false, merge: true, uniqueKeys: true } as const;

/** A path as people see it in messages: relative to `cwd` when it is below it. */
export function displayPath(file: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/**
 * Reads and validates a stack file.
 * @example const stack = await loadStack('stack.yml'); stack.functions.map((f) => f.name)
 */
export async function loadStack(file: string, options: { cwd?: string } = {}): Promise<LoadedStack> {
  const cwd = options.cwd ?? process.cwd();
  const abs = path.resolve(cwd, file);
  const shown = displayPath(abs, cwd);
  if (!existsSync(abs)) throw new StackNotFoundError(shown);
  const stack = parseStack(await readFile(abs, 'utf8'), shown);
  const dir = path.dirname(abs);
  const functions = Object.entries(stack.functions ?? {}).map(([name, spec]) => ({
    name,
    spec,
    handlerDir: path.resolve(dir, spec.handler),
  }));
  return { file: abs, dir, stack, functions };
}

/** Parses stack.yml text; YAML and schema errors become `StackInvalidError`s naming `file:line:col`. */
export function parseStack(text: string, file = 'stack.yml'): StackFile {
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { ...parseOptions, lineCounter });
  const fail = (offset: number, detail: string): never => {
    const { line, col } = lineCounter.linePos(offset);
    throw new StackInvalidError(file, line, col, detail);
  };
  const syntax = doc.errors[0];
  if (syntax) {
    if (syntax.code === 'DUPLICATE_KEY') {
      const key = /^[^:\n]*/.exec(text.slice(syntax.pos[0]))![0].trim();
      fail(syntax.pos[0], `duplicate key ${JSON.stringify(key)}: each key may appear once`);
    }
    fail(syntax.pos[0], syntax.message);
  }
  if (doc.contents === null) fail(0, 'the file is empty: it needs `provider:` and `functions:`');
  const value: unknown = doc.toJS();
  const functions = (value as { functions?: unknown } | null)?.functions;
  if (functions && typeof functions === 'object' && !Array.isArray(functions)) {
    // Checked before the schema: the schema's propertyNames error does not say which name is wrong.
    for (const name of Object.keys(functions)) {
      if (!isValidName(name)) fail(locate(doc, ['functions', name]), new InvalidNameError('function', name).message);
    }
  }
  const issue = validateStackFile.check(value);
  if (issue) {
    const segments = issue.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const message = issue.message.replace(/^must have required property .*$/, 'is required');
    const field = segments.length ? fieldName(issue.path) : 'the stack file';
    fail(locate(doc, segments), `${field} ${message}`);
  }
  return value as StackFile;
}

/** Offset of the deepest node on `segments` that exists: a map entry's key, a sequence item, or the root. */
function locate(doc: Document, segments: string[]): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (const segment of segments) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === segment);
      if (!pair) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)] as Node | undefined;
      if (!item?.range) break;
      offset = item.range[0];
      node = item;
    } else break;
  }
  return offset;
}

/** The functions named by `--filter` (an exact name, or a pattern with `*`), all of them without one. */
export function selectFunctions(stack: LoadedStack, filter?: string): StackEntry[] {
  if (!filter) return stack.functions;
  const re = new RegExp(`^${filter.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  const picked = stack.functions.filter((f) => re.test(f.name));
  if (picked.length === 0) throw new UsageError(`no function in ${displayPath(stack.file)} matches --filter ${filter}`);
  return picked;
}

/** `provider.gateway` from a stack file, without validating it; undefined when absent or unreadable. */
export async function readStackGateway(file: string): Promise<string | undefined> {
  try {
    const value = YAML.parse(await readFile(file, 'utf8'), { merge: true }) as { provider?: { gateway?: unknown } } | null;
    const gateway = value?.provider?.gateway;
    return typeof gateway === 'string' && gateway ? gateway : undefined;
  } catch {
    return undefined;
  }
}
