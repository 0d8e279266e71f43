/** Edits stack.yml the way a person would: the new entry is added, everything else stays byte for byte. */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import YAML, { isMap, isScalar, type Node, type YAMLMap } from 'yaml';
import { FunctionExistsError, StackInvalidError } from './errors.ts';
import { displayPath } from './stack.ts';
import { parseOptions, readYaml, type YamlFile } from './yaml.ts';

// `openfaas`: the only provider name faas-cli accepts, so faas-cli works in the project folder too.
const freshStack = `version: 1.0
provider:
  name: openfaas
  gateway: http://127.0.0.1:8080
functions:
`;

/**
 * Adds `name: spec` under `functions:`, keeping the file's comments, order and indentation.
 * Creates the file when it does not exist. Throws if the function is already there.
 */
export async function addFunctionToStack(file: string, name: string, spec: Record<string, unknown>, cwd = process.cwd()): Promise<void> {
  const shown = displayPath(file, cwd);
  const text = existsSync(file) ? await readFile(file, 'utf8') : freshStack;
  await writeFile(file, withFunction(text, name, spec, shown));
}

/** The stack text with one more function. */
export function withFunction(text: string, name: string, spec: Record<string, unknown>, shown = 'stack.yml'): string {
  let parsed: YamlFile;
  try {
    parsed = readYaml(text, shown);
  } catch (err) {
    // Rewriting a file that does not parse could lose what its author meant.
    if (err instanceof StackInvalidError) throw new StackInvalidError(shown, err.line, err.col, `${err.detail} (fix it before adding a function)`);
    throw err;
  }
  const { doc, lineCounter } = parsed;
  const functions = doc.get('functions', true);
  if (isMap(functions) && functions.has(name)) throw new FunctionExistsError(`function ${JSON.stringify(name)} is already in ${shown}`);
  const expected = (parsed.value ?? {}) as Record<string, unknown>;
  expected.functions = { ...((expected.functions as Record<string, unknown> | null) ?? {}), [name]: spec };

  // First choice: insert text after the last function, so nothing else is reformatted.
  const spliced = isMap(functions) ? splice(text, functions, lineCounter, name, spec) : undefined;
  if (spliced !== undefined && sameData(spliced, expected)) return spliced;

  // Otherwise let the Document API rewrite the file: comments and order survive, spacing may not.
  if (isMap(functions)) {
    if (functions.items.length === 0) functions.flow = false;
    functions.add(doc.createPair(name, spec));
  } else if (functions === undefined || (isScalar(functions) && functions.value === null)) {
    doc.set('functions', doc.createNode({ [name]: spec }));
  } else {
    throw new StackInvalidError(shown, 1, 1, '`functions:` must be a map of function names to definitions');
  }
  return doc.toString({ ...detectStyle(text), lineWidth: 0 });
}

function sameData(text: string, expected: unknown): boolean {
  const doc = YAML.parseDocument(text, parseOptions);
  return doc.errors.length === 0 && JSON.stringify(doc.toJS()) === JSON.stringify(expected);
}

/** Text with the entry inserted after the last item of a non-empty block map; undefined when that shape is absent. */
function splice(text: string, map: YAMLMap, lineCounter: YAML.LineCounter, name: string, spec: Record<string, unknown>): string | undefined {
  const last = map.items.at(-1);
  const key = last?.key as Node | null | undefined;
  const value = last?.value as Node | null | undefined;
  if (map.flow || !key?.range || !value?.range) return undefined;
  const keyCol = lineCounter.linePos(key.range[0]).col - 1;
  let child = detectStyle(text).indent;
  if (isMap(value) && !value.flow && (value.items[0]?.key as Node | undefined)?.range) {
    child = lineCounter.linePos((value.items[0]!.key as Node).range![0]).col - 1 - keyCol;
  }
  if (child <= 0) return undefined;
  let at = value.range[2];
  if (at > 0 && text[at - 1] !== '\n') {
    const nl = text.indexOf('\n', at);
    at = nl < 0 ? text.length : nl + 1;
  }
  const pad = ' '.repeat(keyCol);
  const body = YAML.stringify(spec, { indent: child, lineWidth: 0 })
    .trimEnd()
    .split('\n')
    .map((line) => `${pad}${' '.repeat(child)}${line}`)
    .join('\n');
  const entry = `${pad}${name}:\n${body}\n`;
  const before = text.slice(0, at);
  return `${before}${before.endsWith('\n') || before === '' ? '' : '\n'}${entry}${text.slice(at)}`;
}

/** The indentation the file already uses, so an edit does not reformat it. */
function detectStyle(text: string): { indent: number; indentSeq: boolean } {
  const lines = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  const indents = lines.map((l) => /^ */.exec(l)![0].length).filter((n) => n > 0);
  const indent = indents.length ? Math.min(...indents) : 2;
  let indentSeq = true;
  for (let i = 1; i < lines.length; i++) {
    const m = /^( *)- /.exec(lines[i]!);
    if (m && lines[i - 1]!.trimEnd().endsWith(':') && /^ */.exec(lines[i - 1]!)![0].length === m[1]!.length) indentSeq = false;
  }
  return { indent: Math.max(1, indent), indentSeq };
}
