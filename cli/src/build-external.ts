/**
 * Packages a control function keeps installed instead of bundled: those that read their own files at run time
 * (a native addon such as sharp, a `.wasm` such as tfjs's WASM backend, model weights, an ffmpeg binary). The
 * function's package.json names them under `spindle.external`; the bundle imports each by the absolute file
 * URL Node's `require` resolution gives from the function's folder, so the bundle may run from the data dir
 * and still load the very files (one copy of each, too: a bundled tfjs beside an installed face-api that
 * requires its own would be two engines). In the function's own files `import.meta.url` keeps naming the
 * source file, so `createRequire(import.meta.url).resolve('pkg/package.json')` finds a package's folder (its
 * weights) as it does under tsx. Such a bundle runs where that install is, as the GPU runner does.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as esbuild from 'esbuild';

const NAME = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/;

/**
 * The package names in `<handlerDir>/package.json` → `spindle.external`, sorted; none without that file.
 * @example await externalPackages('/app/functions/landmarks') // ['@vladmandic/face-api', 'sharp']
 */
export async function externalPackages(handlerDir: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path.join(handlerDir, 'package.json'), 'utf8');
  } catch {
    return [];
  }
  const list = (JSON.parse(text) as { spindle?: { external?: unknown } }).spindle?.external;
  if (list === undefined) return [];
  if (!Array.isArray(list) || !list.every((n) => typeof n === 'string' && NAME.test(n))) {
    throw new Error(`${path.join(handlerDir, 'package.json')}: spindle.external must be a list of package names`);
  }
  return [...new Set(list as string[])].sort();
}

/** Resolves imports of `names` (and their subpaths) to installed files by absolute URL, left external; see above for `import.meta.url`. */
export function installedPackages(names: string[], handlerDir: string): esbuild.Plugin {
  return {
    name: 'spindle-installed-packages',
    setup(build) {
      if (names.length === 0) return;
      const escaped = names.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
      build.onResolve({ filter: new RegExp(`^(${escaped.join('|')})(/|$)`) }, (args) => {
        try {
          const file = createRequire(path.join(args.resolveDir, 'noop.js')).resolve(args.path);
          // Node caches resolutions per process (a long-lived `spindle up --watch`): check the file is still there.
          if (!existsSync(file)) throw new Error(`${file} is gone`);
          return { path: pathToFileURL(file).href, external: true };
        } catch (err) {
          return { errors: [{ text: `${args.path} is listed in spindle.external but is not installed: ${(err as Error).message.split('\n')[0]}` }] };
        }
      });
      const own = `${path.resolve(handlerDir)}${path.sep}`;
      build.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
        if (!args.path.startsWith(own) || args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const source = await readFile(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        const loader = path.extname(args.path).endsWith('ts') ? 'ts' : 'js';
        return { contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader };
      });
    },
  };
}

/** The installed files a bundle imports by absolute URL (from esbuild's metafile), so a moved install means a rebuild. */
export function externalFiles(metafile: esbuild.Metafile): string[] {
  const files = new Set<string>();
  for (const out of Object.values(metafile.outputs)) {
    for (const i of out.imports) if (i.external && i.path.startsWith('file:')) files.add(fileURLToPath(i.path));
  }
  return [...files].sort();
}

/** True when every recorded external file is still where the bundle expects it. */
export function externalsPresent(files: string[] | undefined): boolean {
  return (files ?? []).every((f) => existsSync(f));
}
