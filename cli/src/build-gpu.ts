/**
 * What GPU bundles need on top of control ones: `.onnx` imports become model digests (the file is
 * uploaded beside the bundle; a missing `X.onnx` is made by its recipe `X.onnx.ts`, whose default
 * export returns the bytes), and native modules are left to the runner's installation.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type * as esbuild from 'esbuild';

/** A model file a GPU function ships or builds. */
export interface ModelFile {
  /** `sha256:<hex>` of the bytes. */
  digest: string;
  /** Absolute path of the .onnx file (in the function folder, or made under the build folder). */
  path: string;
  size: number;
  /** The file that produced it (the .onnx itself or its recipe), relative to the stack folder: a build input. */
  source: string;
}

/** The entry of a GPU bundle: the definition is the module's default export; the runner imports it. */
export const GPU_ENTRY = "export { default } from './handler.ts';";

// Native modules are provided by the runner (see gpu-runner/src/worker.ts): one copy, its own binaries.
const HOST = /^(onnxruntime-node|onnxruntime-common|sharp)$/;
const execFileAsync = promisify(execFile);

/** Resolves onnxruntime and sharp through the runner's `globalThis.__spindleRequire` at run time. */
export const hostModules: esbuild.Plugin = {
  name: 'spindle-host-modules',
  setup(build) {
    build.onResolve({ filter: HOST }, (args) => ({ path: args.path === 'onnxruntime-common' ? 'onnxruntime-node' : args.path, namespace: 'spindle-host' }));
    build.onLoad({ filter: /.*/, namespace: 'spindle-host' }, (args) => ({
      contents: `module.exports = globalThis.__spindleRequire(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Imports the recipe (argv[1], a file URL) and writes what its default export returns to argv[2]. */
const RUN_RECIPE = `const [recipe, out] = process.argv.slice(1);
const mod = await import(recipe);
if (typeof mod.default !== 'function') { console.error('it must default-export a function returning the model bytes'); process.exit(2); }
const { writeFile } = await import('node:fs/promises');
await writeFile(out, await mod.default(), { mode: 0o600 });`;

/**
 * Runs `X.onnx.ts` (cached by its source hash under `<outDir>/models/`); returns the made file. The recipe runs
 * in a child process through tsx: it is TypeScript while the CLI may run built (see self-bundle.ts), and the
 * model's bytes then never pass through the CLI, which under `spindle start` is the gateway.
 */
async function fromRecipe(recipe: string, outDir: string): Promise<string> {
  const key = createHash('sha256').update(await readFile(recipe)).update(recipe).digest('hex').slice(0, 16);
  const out = path.join(outDir, 'models', `${path.basename(recipe, '.onnx.ts')}-${key}.onnx`);
  if (existsSync(out)) return out;
  await mkdir(path.dirname(out), { recursive: true, mode: 0o700 });
  // tsx's ESM hooks only, as `register()` from tsx/esm/api sets them up in bin/spindle.mjs.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
  try {
    await execFileAsync(process.execPath, ['--import', tsx, '--input-type=module', '-e', RUN_RECIPE, pathToFileURL(recipe).href, `${out}.tmp`], { maxBuffer: 1024 * 1024 });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    // Node prints the source line and a stack; the line that says what failed is `SomeError: message`.
    const lines = stderr.split('\n');
    throw new Error(lines.find((l) => /^[A-Za-z]*Error\b/.test(l) || l.startsWith('it must')) ?? (stderr || (err as Error).message), { cause: err });
  }
  await rename(`${out}.tmp`, out);
  return out;
}

/** Turns `.onnx` imports into digests and records the files in `models`. */
export function modelFiles(stackDir: string, outDir: string, models: Map<string, ModelFile>): esbuild.Plugin {
  return {
    name: 'spindle-models',
    setup(build) {
      build.onResolve({ filter: /\.onnx$/ }, (args) => ({ path: path.resolve(args.resolveDir, args.path), namespace: 'spindle-model' }));
      build.onLoad({ filter: /.*/, namespace: 'spindle-model' }, async (args) => {
        let file = args.path;
        let source = file;
        if (!existsSync(file)) {
          source = `${file}.ts`;
          if (!existsSync(source)) return { errors: [{ text: `model ${path.relative(stackDir, file)} not found, and no recipe ${path.relative(stackDir, source)} makes it` }] };
          try {
            file = await fromRecipe(source, outDir);
          } catch (err) {
            return { errors: [{ text: `model recipe ${path.relative(stackDir, source)} failed: ${(err as Error).message}` }] };
          }
        }
        const digest = `sha256:${await sha256File(file)}`;
        models.set(digest, { digest, path: file, size: (await stat(file)).size, source: path.relative(stackDir, source) });
        return { contents: `export default ${JSON.stringify(digest)};`, loader: 'js', watchFiles: [source] };
      });
    },
  };
}
