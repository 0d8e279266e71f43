/** Bundles a function into one self-contained ESM file with esbuild, and skips the work when nothing changed. */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { sha256, writeAtomic } from './files.ts';
import { externalFiles, externalPackages, externalsPresent, installedPackages } from './build-external.ts';
import { GPU_ENTRY, hostModules, modelFiles, type ModelFile } from './build-gpu.ts';
import { BuildFailedError, CliError } from './errors.ts';
import { selectFunctions, type LoadedStack, type StackEntry } from './stack.ts';

/** Bump when the way bundles are produced changes, so old outputs are rebuilt. */
const RECIPE = 1;
const ENTRY = "import definition from './handler.ts'; import { serve } from '@spindle/runtime/watchdog'; await serve(definition);";
// CommonJS dependencies call require(); ESM output has none unless we make one.
const BANNER = "import { createRequire as __spindleCreateRequire } from 'node:module'; const require = __spindleCreateRequire(import.meta.url);";
const cliDir = path.dirname(fileURLToPath(import.meta.url));

export interface BuildOptions {
  name: string;
  /** Absolute folder holding `handler.ts`. */
  handlerDir: string;
  /** Absolute folder of stack.yml: esbuild's working dir, so the bundle holds only relative paths. */
  stackDir: string;
  /** Absolute folder that receives `bundle.mjs` and `meta.json`. */
  outDir: string;
  /** Rebuild even when the inputs are unchanged. */
  force?: boolean;
  /** `gpu`: a module for the GPU runner (default export, `.onnx` imports, native modules left to the runner). */
  lang?: 'control' | 'gpu';
  /** Control functions: packages imported from the install by absolute URL (default: the folder's package.json `spindle.external`). */
  external?: string[];
}

export interface BuildResult {
  name: string;
  /** `sha256:<hex>` of the bundle bytes. */
  digest: string;
  bundlePath: string;
  size: number;
  /** False when the previous bundle was kept because no input changed. */
  built: boolean;
  ms: number;
  /** esbuild warnings as `file:line:col: text`. */
  warnings: string[];
  /** GPU functions: the model files to upload beside the bundle. */
  models?: ModelFile[];
}

interface BuildMeta {
  digest: string;
  esbuild: string;
  options: string;
  /** sha256 of every input file, keyed by its path relative to the stack folder. */
  inputs: Record<string, string>;
  models?: ModelFile[];
  /** Installed files the bundle imports by absolute path (see build-external.ts). */
  externals?: string[];
}

/** `<dataDir>/build/<name>`: where a function's bundle and build record live. */
export function buildDir(dataDir: string, name: string): string {
  return path.join(dataDir, 'build', name);
}

/** True for functions the CLI bundles: control functions, and GPU functions (a module the GPU runner loads). */
export function isBuildable(entry: StackEntry): boolean {
  return ['control', 'gpu'].includes(entry.spec.lang ?? 'control');
}


/** Resolves `@spindle/runtime` from the CLI's own install when the project does not have it. */
const runtimeFallback: esbuild.Plugin = {
  name: 'spindle-runtime-fallback',
  setup(build) {
    build.onResolve({ filter: /^@spindle\/runtime(\/|$)/ }, async (args) => {
      if (args.pluginData === 'fallback') return undefined;
      const common = { kind: args.kind, importer: args.importer, pluginData: 'fallback' };
      const own = await build.resolve(args.path, { ...common, resolveDir: args.resolveDir });
      if (own.errors.length === 0) return own;
      const ours = await build.resolve(args.path, { ...common, resolveDir: cliDir });
      return ours.errors.length === 0 ? ours : undefined;
    });
  },
};

function esbuildOptions(opts: BuildOptions, models = new Map<string, ModelFile>()) {
  const gpu = opts.lang === 'gpu';
  return {
    stdin: { contents: gpu ? GPU_ENTRY : ENTRY, resolveDir: opts.handlerDir, sourcefile: 'spindle-entry.ts', loader: 'ts' as const },
    bundle: true,
    platform: 'node' as const,
    format: 'esm' as const,
    target: 'node20',
    banner: { js: BANNER },
    absWorkingDir: opts.stackDir,
    metafile: true as const,
    write: false as const,
    logLevel: 'silent' as const,
    plugins: gpu ? [runtimeFallback, hostModules, modelFiles(opts.stackDir, opts.outDir, models)] : [runtimeFallback, installedPackages(opts.external ?? [], opts.handlerDir)],
  };
}

function optionsHash(opts: BuildOptions): string {
  const { plugins: _plugins, absWorkingDir: _cwd, stdin, ...rest } = esbuildOptions(opts);
  const resolveDir = path.relative(opts.stackDir, stdin.resolveDir);
  return sha256(JSON.stringify({ RECIPE, rest, stdin: { ...stdin, resolveDir }, external: opts.lang === 'gpu' ? [] : opts.external }));
}

function formatMessage(m: esbuild.Message): string {
  const where = m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ` : '';
  const notes = m.notes.map((n) => `\n    note: ${n.location ? `${n.location.file}:${n.location.line}: ` : ''}${n.text}`);
  return `${where}${m.text}${notes.join('')}`;
}

async function readMeta(outDir: string): Promise<BuildMeta | undefined> {
  try {
    return JSON.parse(await readFile(path.join(outDir, 'meta.json'), 'utf8')) as BuildMeta;
  } catch {
    return undefined;
  }
}

/** The previous build, when its bundle is intact and every input hashes the same as then. */
async function unchanged(opts: BuildOptions, hash: string): Promise<{ meta: BuildMeta; size: number } | undefined> {
  const meta = await readMeta(opts.outDir);
  if (!meta || meta.esbuild !== esbuild.version || meta.options !== hash || !externalsPresent(meta.externals)) return undefined;
  try {
    const bundle = await readFile(path.join(opts.outDir, 'bundle.mjs'));
    if (`sha256:${sha256(bundle)}` !== meta.digest) return undefined;
    for (const [file, digest] of Object.entries(meta.inputs)) {
      if (sha256(await readFile(path.resolve(opts.stackDir, file))) !== digest) return undefined;
    }
    return { meta, size: bundle.length };
  } catch {
    return undefined;
  }
}

/**
 * Bundles one function into `<outDir>/bundle.mjs`; returns its digest. Same sources, same digest.
 * @example const { digest } = await buildFunction({ name: 'echo', handlerDir, stackDir, outDir });
 */
export async function buildFunction(options: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  let opts = options;
  if (opts.lang !== 'gpu' && !opts.external) {
    try {
      opts = { ...opts, external: await externalPackages(opts.handlerDir) };
    } catch (err) {
      throw new BuildFailedError(opts.name, [(err as Error).message], err);
    }
  }
  const bundlePath = path.join(opts.outDir, 'bundle.mjs');
  const hash = optionsHash(opts);
  if (!opts.force) {
    const previous = await unchanged(opts, hash);
    if (previous) {
      const ms = Math.round(performance.now() - started);
      return { name: opts.name, digest: previous.meta.digest, bundlePath, size: previous.size, built: false, ms, warnings: [], models: previous.meta.models };
    }
  }
  const handler = path.join(opts.handlerDir, 'handler.ts');
  if (!existsSync(handler)) throw new BuildFailedError(opts.name, [`${path.relative(opts.stackDir, handler)} not found`]);
  let result: esbuild.BuildResult<{ metafile: true; write: false }>;
  const models = new Map<string, ModelFile>();
  try {
    result = await esbuild.build(esbuildOptions(opts, models));
  } catch (err) {
    const errors = (err as esbuild.BuildFailure).errors;
    if (!Array.isArray(errors)) throw err;
    throw new BuildFailedError(opts.name, errors.map(formatMessage), err);
  }
  const bytes = result.outputFiles[0]!.contents;
  const digest = `sha256:${sha256(bytes)}`;
  const inputs: Record<string, string> = {};
  for (const file of Object.keys(result.metafile.inputs).sort()) {
    const abs = path.resolve(opts.stackDir, file);
    // The virtual entry (stdin) and plugin namespaces have no file on disk.
    if (file.includes(':') || !existsSync(abs)) continue;
    inputs[file] = sha256(await readFile(abs));
  }
  for (const m of models.values()) inputs[m.source] = sha256(await readFile(path.resolve(opts.stackDir, m.source)));
  // Owner-only, as the gateway keeps the rest of the data dir (gateway/src/data-dir.ts); this may create it.
  await mkdir(opts.outDir, { recursive: true, mode: 0o700 });
  await writeAtomic(bundlePath, bytes);
  const externals = externalFiles(result.metafile);
  const meta: BuildMeta = {
    digest,
    esbuild: esbuild.version,
    options: hash,
    inputs,
    ...(opts.lang === 'gpu' && { models: [...models.values()] }),
    ...(externals.length > 0 && { externals }),
  };
  await writeAtomic(path.join(opts.outDir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  const ms = Math.round(performance.now() - started);
  return { name: opts.name, digest, bundlePath, size: bytes.length, built: true, ms, warnings: result.warnings.map(formatMessage), models: meta.models };
}

export interface BuildFunctionsOptions {
  /** Data dir (`.spindle` or `$SPINDLE_DATA_DIR`); bundles go to `<dataDir>/build/<name>/`. */
  dataDir: string;
  filter?: string;
  force?: boolean;
  /** Called as each function finishes. */
  onResult?: (result: BuildResult) => void;
}

/** Builds the stack's control functions (all, or those matching `filter`) in parallel; results in stack order. */
export async function buildFunctions(stack: LoadedStack, opts: BuildFunctionsOptions): Promise<BuildResult[]> {
  const entries = selectFunctions(stack, opts.filter).filter(isBuildable);
  const settled = await Promise.allSettled(
    entries.map(async (entry) => {
      const result = await buildFunction({
        name: entry.name,
        handlerDir: entry.handlerDir,
        stackDir: stack.dir,
        outDir: buildDir(opts.dataDir, entry.name),
        force: opts.force,
        lang: entry.spec.lang === 'gpu' ? 'gpu' : 'control',
      });
      opts.onResult?.(result);
      return result;
    }),
  );
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    throw new CliError('SPINDLE_CLI_BUILD_FAILED', failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n'));
  }
  return settled.map((s) => (s as PromiseFulfilledResult<BuildResult>).value);
}

/** The last build of a function: its digest and bundle bytes, or undefined when it was never built. */
export async function readBuild(dataDir: string, name: string): Promise<{ digest: string; bytes: Uint8Array; models?: ModelFile[] } | undefined> {
  const dir = buildDir(dataDir, name);
  const meta = await readMeta(dir);
  if (!meta) return undefined;
  try {
    const bytes = await readFile(path.join(dir, 'bundle.mjs'));
    return `sha256:${sha256(bytes)}` === meta.digest ? { digest: meta.digest, bytes, models: meta.models } : undefined;
  } catch {
    return undefined;
  }
}
