/**
 * Every YAML file the CLI reads (stack.yml, graph files, environment files) goes through `readYaml`: its
 * nesting is measured on the syntax tree (built without recursion) before YAML's composer recurses into
 * it, aliases may not expand past MAX_ALIAS_COUNT, and the result is held to DOCUMENT_BOUNDS. Each
 * failure is a StackInvalidError that names `file:line:col`.
 */
import YAML, { CST, isAlias, isMap, isScalar, isSeq, type Document, type Node } from 'yaml';
import { checkJsonBounds, checkTreeBounds, DOCUMENT_BOUNDS, fieldName, type ChildrenOf } from '@spindle/schemas';
import { StackInvalidError } from './errors.ts';

/** YAML options for every read: merge keys (`<<:`) allowed, duplicate keys refused. */
export const parseOptions = { prettyErrors: false, merge: true, uniqueKeys: true } as const;

/** How often aliases may be expanded, per anchor use (the `yaml` package's default, set here on purpose): a "billion laughs" file stops here. */
export const MAX_ALIAS_COUNT = 100;

/** A parsed YAML file: its value, its document (for positions), and a way to fail at a field. */
export interface YamlFile {
  /** The file as messages name it. */
  file: string;
  doc: Document;
  value: unknown;
  /** Throws a StackInvalidError at the node on `segments` (its key; with `atValue`, its value). */
  fail(segments: string[], detail: string, atValue?: boolean): never;
  /** Throws a StackInvalidError at a character offset. */
  failAt(offset: number, detail: string): never;
  /** Offsets to lines and columns. */
  lineCounter: YAML.LineCounter;
}

type CstToken = CST.Token;

/** The children of a syntax-tree collection, named by their keys as written (or their index). */
const cstChildren: ChildrenOf<CstToken> = (token) => {
  if (!CST.isCollection(token)) return null;
  const out: Array<[string, CstToken]> = [];
  token.items.forEach((item, i) => {
    const key = (item.key && CST.isScalar(item.key) && CST.resolveAsScalar(item.key)?.value) || String(i);
    if (item.key) out.push([key, item.key]);
    if (item.value) out.push([key, item.value]);
  });
  return out;
};

/** Offset of the deepest node on `segments` that exists: a map entry's key (or value), a sequence item, or the root. */
function locate(doc: Document, segments: string[], atValue = false): number {
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
  if (atValue && (node as Node | null)?.range) offset = (node as Node).range![0];
  return offset;
}

/** Splits a JSON pointer into keys. */
export function segmentsOf(pointer: string): string[] {
  return pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Parses YAML `text` from `file` (as shown in messages) within DOCUMENT_BOUNDS and MAX_ALIAS_COUNT.
 * @example const { value } = readYaml(await readFile('graph.yml', 'utf8'), 'graph.yml');
 */
export function readYaml(text: string, file: string): YamlFile {
  const lineCounter = new YAML.LineCounter();
  const failAt = (offset: number, detail: string): never => {
    const { line, col } = lineCounter.linePos(offset);
    throw new StackInvalidError(file, line, col, detail);
  };
  // The syntax tree first: it is built with an explicit stack, so a deep file cannot overflow ours.
  for (const token of new YAML.Parser((offset) => lineCounter.addNewLine(offset)).parse(text)) {
    if (token.type !== 'document' || !token.value) continue;
    const deep = checkTreeBounds(token.value, cstChildren, DOCUMENT_BOUNDS);
    if (deep) failAt((deep.node as { offset: number }).offset, `${deep.path ? fieldName(deep.path) : 'the file'} ${deep.message}`);
  }
  const doc = YAML.parseDocument(text, parseOptions);
  const fail = (segments: string[], detail: string, atValue = false): never => failAt(locate(doc, segments, atValue), detail);
  const syntax = doc.errors[0];
  if (syntax) {
    if (syntax.code === 'DUPLICATE_KEY') {
      const key = /^[^:\n]*/.exec(text.slice(syntax.pos[0]))![0].trim();
      failAt(syntax.pos[0], `duplicate key ${JSON.stringify(key)}: each key may appear once`);
    }
    failAt(syntax.pos[0], syntax.message);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    let alias = 0;
    YAML.visit(doc, {
      Alias: (_key, node) => {
        alias = node.range?.[0] ?? 0;
        return YAML.visit.BREAK;
      },
    });
    const detail = /Excessive alias count/.test(err.message)
      ? `aliases (*name) expand to too much data (more than ${MAX_ALIAS_COUNT} uses of an anchor's content): is this a "billion laughs" file?`
      : err.message;
    failAt(alias, detail);
  }
  // Aliases can nest what the text does not: the value is held to the same bounds.
  const bounds = checkJsonBounds(value);
  if (bounds) fail(segmentsOf(bounds.path), `${bounds.path ? fieldName(bounds.path) : 'the file'} ${bounds.message}`);
  return { file, doc, value, fail, failAt, lineCounter };
}
