/** stack.yml: load and validate it, with errors that point at file:line:col. */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isScalar } from 'yaml';
import { fieldName, isValidName, validateStackFile, type StackFile, type StackFunction } from '@spindle/schemas';
import { InvalidNameError, StackInvalidError, StackNotFoundError, UsageError } from './errors.ts';
import { parseEnvsubst } from './faas-envsubst.ts';
import { projectPath } from './project-paths.ts';
import { readYaml, segmentsOf, type YamlFile } from './yaml.ts';


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
  /** The parsed file, to point later errors (a graph's cycle) at their line; absent for stacks built in code. */
  yaml?: YamlFile;
}

/** A path as people see it in messages: relative to `cwd` when it is below it. */
export function displayPath(file: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/**
 * Reads and validates a stack file; every path it names must stay inside its folder.
 * @example const stack = await loadStack('stack.yml'); stack.functions.map((f) => f.name)
 */
export async function loadStack(file: string, options: { cwd?: string } = {}): Promise<LoadedStack> {
  const cwd = options.cwd ?? process.cwd();
  const abs = path.resolve(cwd, file);
  const shown = displayPath(abs, cwd);
  if (!existsSync(abs)) throw new StackNotFoundError(shown);
  const { stack, yaml } = parseStackFile(await readFile(abs, 'utf8'), shown);
  const dir = path.dirname(abs);
  const contained = async (segments: string[], rel: string): Promise<string> => {
    const found = await projectPath(dir, rel);
    if ('outside' in found) yaml.fail(segments, `${fieldName(`/${segments.join('/')}`)} "${rel}" ${found.outside}: paths in a stack file must stay inside its folder`, true);
    return (found as { path: string }).path;
  };
  const functions: StackEntry[] = [];
  for (const [name, spec] of Object.entries(stack.functions ?? {})) {
    const handlerDir = await contained(['functions', name, 'handler'], spec.handler);
    for (const [i, envFile] of (spec.environment_file ?? []).entries()) await contained(['functions', name, 'environment_file', String(i)], envFile);
    functions.push({ name, spec, handlerDir });
  }
  for (const [name, graph] of Object.entries(stack.graphs ?? {})) {
    const file = (graph as { file?: unknown }).file;
    if (typeof file === 'string') await contained(['graphs', name, 'file'], file);
  }
  return { file: abs, dir, stack, functions, yaml };
}

/** Parses stack.yml text; YAML and schema errors become `StackInvalidError`s naming `file:line:col`. */
export function parseStack(text: string, file = 'stack.yml'): StackFile {
  return parseStackFile(text, file).stack;
}

/** `parseStack`, keeping the parsed file for positions of later errors. */
export function parseStackFile(text: string, file = 'stack.yml'): { stack: StackFile; yaml: YamlFile } {
  const yaml = readYaml(text, file);
  const { doc } = yaml;
  if (doc.contents === null) yaml.failAt(0, 'the file is empty: it needs `provider:` and `functions:`');
  const value = yaml.value as Record<string, unknown> | null;
  // faas-cli reads `version` as the text written: `1.0` is "1.0", `1` is "1" (refused), as YAML 1.0 would be the number 1 here.
  const version = doc.get('version', true);
  if (value && isScalar(version) && typeof version.value === 'number' && version.source !== undefined) value.version = version.source;
  const functions = value?.functions;
  if (functions && typeof functions === 'object' && !Array.isArray(functions)) {
    // Checked before the schema: the schema's propertyNames error does not say which name is wrong.
    for (const name of Object.keys(functions)) {
      if (!isValidName(name)) yaml.fail(['functions', name], new InvalidNameError('function', name).message);
    }
  }
  const issue = validateStackFile.check(value);
  if (issue) {
    const segments = segmentsOf(issue.path);
    const field = segments.length ? fieldName(issue.path) : 'the stack file';
    // A wrong version is shown where it is written, the value; other errors at their key.
    yaml.fail(segments, `${field} ${issue.message}`, issue.path === '/version');
  }
  checkFaasCliReads(text, yaml);
  return { stack: value as StackFile, yaml };
}

/**
 * faas-cli reads stack.yml after its environment substitution (`--envsubst`, on by default), comments and
 * `graphs:` included: a `${` it cannot parse, or an escape it rewrites (`\\` to `\`, `\/` to `/`, `$$` to `$`)
 * inside a double-quoted string, makes it refuse the whole file. Refused here too, at the line.
 */
function checkFaasCliReads(text: string, yaml: YamlFile): void {
  // Nothing for the substitution to touch: the common case.
  if (!/\$[{$]|\\[\\/]/.test(text)) return;
  const parsed = parseEnvsubst(text);
  if ('error' in parsed) {
    yaml.failAt(parsed.offset, `faas-cli would refuse this file: it reads \${...} as an environment variable, and cannot parse this one (${parsed.error}); write $\${ for a literal \${`);
  }
  // The text faas-cli parses, with each substitution standing for a value that cannot change the YAML around it.
  let view = '';
  const origin: number[] = [];
  let n = 0;
  for (const part of parsed.parts) {
    if ('text' in part) {
      view += part.text;
      for (const at of part.origin) origin.push(at);
    } else {
      const stand = `x${(n++).toString(36)}`;
      view += stand;
      for (let i = 0; i < stand.length; i++) origin.push(part.offset);
    }
  }
  origin.push(text.length);
  try {
    readYaml(view, yaml.file);
  } catch (err) {
    if (!(err instanceof StackInvalidError)) throw err;
    let offset = 0;
    for (let line = 1; line < err.line; line++) offset = view.indexOf('\n', offset) + 1;
    const at = origin[Math.min(offset + err.col - 1, view.length)]!;
    // A rewritten backslash before the error is the likely cause (an escape in a double-quoted string).
    const advice = /\\[\\/]/.test(text.slice(0, at + 1)) ? '; write the value in single quotes, where a backslash needs no escaping' : '';
    yaml.failAt(
      at,
      `faas-cli would refuse this file: before parsing it, its environment substitution turns \\\\ into \\, \\/ into / and $$ into $, which leaves invalid YAML here (${err.detail})${advice}`,
    );
  }
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
    const value = readYaml(await readFile(file, 'utf8'), file).value as { provider?: { gateway?: unknown } } | null;
    const gateway = value?.provider?.gateway;
    return typeof gateway === 'string' && gateway ? gateway : undefined;
  } catch {
    return undefined;
  }
}
