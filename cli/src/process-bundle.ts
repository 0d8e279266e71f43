/**
 * Builds a long-lived process of the platform (the GPU runner, the gateway inside `spindle start`) from its
 * TypeScript into plain ESM with esbuild, so it runs on `node` alone: no tsx loader thread, no esbuild
 * service behind it, no per-file transform at start. The output is cached: an unchanged tree is not rebuilt.
 *
 * Only the workspace's own sources are bundled. Installed packages stay external (onnxruntime-node, sharp,
 * PGlite's WASM, esbuild itself and everything else under node_modules) and are imported by absolute file
 * URL, resolved as Node resolves them from the importing source file, so the output may live anywhere (the
 * data dir) and loads the very files the sources would. `import.meta.url` keeps naming the source file, so
 * code that reads a file beside itself (`.lua` scripts, migrations) or resolves from there works unchanged.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { sha256, writeAtomic } from './files.ts';
import { BuildFailedError } from './errors.ts';

/** Bump when the way process bundles are produced changes, so old outputs are rebuilt. */
const RECIPE = 1;
const NODE_MODULES = `${path.sep}node_modules${path.sep}`;
const SOURCE_URL = '__spindleSourceUrl';

export interface ProcessBundleSpec {
  /** Shown in messages; names nothing on disk. */
  name: string;
  /** Output stem → absolute path of a TypeScript entry point: `{ main: '/…/src/main.ts' }` gives `main.mjs`. */
  entries: Record<string, string>;
  /** Build-time constants (esbuild `define`), given the absolute path each entry's output will have. */
  define?: (outputs: Record<string, string>) => Record<string, string>;
}

export interface ProcessBundleOptions extends ProcessBundleSpec {
  /** Folder that receives `<stem>.mjs`, its source map and `meta.json`; owner-only. */
  outDir: string;
  /** Rebuild even when no input changed. */
  force?: boolean;
}

export interface ProcessBundle {
  /** Output stem → absolute path of the built `.mjs`. */
  files: Record<string, string>;
  /** False when the previous output was kept because no input changed. */
  built: boolean;
  ms: number;
}

interface Meta {
  esbuild: string;
  options: string;
  /** sha256 of every bundled source, by absolute path. */
  inputs: Record<string, string>;
  /** sha256 of every output file, by name. */
  outputs: Record<string, string>;
  /** Installed files the output imports by absolute path: a reinstall that moves one means a rebuild. */
  externals: string[];
}


function outputsOf(spec: ProcessBundleOptions): Record<string, string> {
  return Object.fromEntries(Object.keys(spec.entries).map((stem) => [stem, path.join(spec.outDir, `${stem}.mjs`)]));
}

/** Keeps installed packages external, by absolute URL; bundles the workspace's sources with their own `import.meta.url`. */
const sourceLayout: esbuild.Plugin = {
  name: 'spindle-source-layout',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === 'inner' || args.path.startsWith('node:') || path.isAbsolute(args.path)) return undefined;
      const r = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'inner' });
      if (r.errors.length > 0) return { errors: r.errors };
      // Builtins come back external; workspace packages (symlinked into node_modules) come back as their real source.
      if (r.external || !r.path.includes(NODE_MODULES)) return r;
      return { path: pathToFileURL(r.path).href, external: true };
    });
    // `define` turns every `import.meta.url` into SOURCE_URL, which binds to this per-file constant (placed on the
    // first line, so source maps stay right from the second line on); strings that merely mention it are left alone.
    build.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
      if (args.path.includes(NODE_MODULES)) return undefined;
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const loader = path.extname(args.path).endsWith('ts') ? 'ts' : 'js';
      return { contents: `const ${SOURCE_URL} = ${JSON.stringify(pathToFileURL(args.path).href)}; ${source}`, loader };
    });
  },
};

function esbuildOptions(spec: ProcessBundleOptions): esbuild.BuildOptions & { metafile: true; write: false } {
  return {
    entryPoints: Object.entries(spec.entries).map(([out, entry]) => ({ in: entry, out })),
    outdir: spec.outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Node's own resolution for what stays external: no `module` condition, no `module` main field.
    conditions: [],
    mainFields: ['main'],
    sourcemap: 'linked',
    define: { ...spec.define?.(outputsOf(spec)), 'import.meta.url': SOURCE_URL },
    metafile: true,
    write: false,
    logLevel: 'silent',
    plugins: [sourceLayout],
  };
}

function optionsHash(spec: ProcessBundleOptions): string {
  const { plugins: _plugins, ...rest } = esbuildOptions(spec);
  return sha256(JSON.stringify({ RECIPE, rest }));
}

async function readMeta(outDir: string): Promise<Meta | undefined> {
  try {
    return JSON.parse(await readFile(path.join(outDir, 'meta.json'), 'utf8')) as Meta;
  } catch {
    return undefined;
  }
}

/** True when the previous output is intact and every input hashes the same as then. */
async function unchanged(spec: ProcessBundleOptions, hash: string): Promise<boolean> {
  const meta = await readMeta(spec.outDir);
  if (!meta || meta.esbuild !== esbuild.version || meta.options !== hash) return false;
  try {
    for (const [file, digest] of Object.entries(meta.outputs)) if (sha256(await readFile(path.join(spec.outDir, file))) !== digest) return false;
    for (const [file, digest] of Object.entries(meta.inputs)) if (sha256(await readFile(file)) !== digest) return false;
    return meta.externals.every((file) => existsSync(file));
  } catch {
    return false;
  }
}

/**
 * Bundles `spec.entries` into `spec.outDir`, or keeps the previous output when nothing it was built from changed.
 * @example const { files } = await bundleProcess({ name: 'gpu-runner', entries: { main: '/app/gpu-runner/src/main.ts' }, outDir });
 */
export async function bundleProcess(spec: ProcessBundleOptions): Promise<ProcessBundle> {
  const started = performance.now();
  const files = outputsOf(spec);
  const hash = optionsHash(spec);
  const elapsed = () => Math.round(performance.now() - started);
  if (!spec.force && (await unchanged(spec, hash))) return { files, built: false, ms: elapsed() };
  let result: esbuild.BuildResult<{ metafile: true; write: false }>;
  try {
    result = await esbuild.build(esbuildOptions(spec));
  } catch (err) {
    const errors = (err as esbuild.BuildFailure).errors;
    if (!Array.isArray(errors)) throw err;
    throw new BuildFailedError(spec.name, errors.map((m) => `${m.location ? `${m.location.file}:${m.location.line}: ` : ''}${m.text}`), err);
  }
  const cwd = process.cwd();
  const inputs: Record<string, string> = {};
  for (const file of Object.keys(result.metafile.inputs).sort()) {
    const abs = path.resolve(cwd, file);
    if (existsSync(abs)) inputs[abs] = sha256(await readFile(abs));
  }
  const externals = new Set<string>();
  for (const out of Object.values(result.metafile.outputs)) {
    for (const i of out.imports) if (i.external && i.path.startsWith('file:')) externals.add(fileURLToPath(i.path));
  }
  await mkdir(spec.outDir, { recursive: true, mode: 0o700 });
  const outputs: Record<string, string> = {};
  for (const f of result.outputFiles) {
    const name = path.relative(spec.outDir, f.path);
    await writeAtomic(f.path, f.contents);
    outputs[name] = sha256(f.contents);
  }
  const meta: Meta = { esbuild: esbuild.version, options: hash, inputs, outputs, externals: [...externals].sort() };
  await writeAtomic(path.join(spec.outDir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  return { files, built: true, ms: elapsed() };
}

/** Stops esbuild's service process (it otherwise stays alive, holding what it parsed); the next build starts a new one. */
export function stopBundler(): Promise<void> {
  return esbuild.stop();
}
