import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundleProcess, stopBundler } from './process-bundle.ts';

const run = promisify(execFile);

/** A workspace-like tree: TypeScript sources beside a data file, and an installed package with conditional exports. */
async function project(dir: string): Promise<void> {
  const files: Record<string, string> = {
    'package.json': '{"type":"module"}',
    'src/main.ts': [
      "import dep from 'dep';",
      "import { dataBeside, here, mention } from './lib.ts';",
      'declare const BUILT_CONSTANT: string;',
      'console.log(JSON.stringify({ dep, data: dataBeside(), here, mention, constant: BUILT_CONSTANT }));',
      '',
    ].join('\n'),
    'src/lib.ts': [
      "import { readFileSync } from 'node:fs';",
      "export const dataBeside = (): string => readFileSync(new URL('./data.txt', import.meta.url), 'utf8').trim();",
      'export const here: string = import.meta.url;',
      "export const mention = 'a string that says import.meta.url';",
      '',
    ].join('\n'),
    'src/data.txt': 'beside the source\n',
    // Node picks `import`; a bundler's `module` condition would pick the wrong file.
    'node_modules/dep/package.json': '{"name":"dep","exports":{"module":"./wrong.mjs","import":"./esm.mjs","require":"./cjs.cjs"}}',
    'node_modules/dep/esm.mjs': "export default 'esm';\n",
    'node_modules/dep/wrong.mjs': "export default 'module condition';\n",
    'node_modules/dep/cjs.cjs': "module.exports = 'cjs';\n",
  };
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
}

describe('bundleProcess', () => {
  let dir: string;
  let out: string;
  const spec = () => ({
    name: 'demo',
    entries: { main: path.join(dir, 'src/main.ts') },
    outDir: out,
    define: (outputs: Record<string, string>) => ({ BUILT_CONSTANT: JSON.stringify(path.basename(outputs.main)) }),
  });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'spindle-pbundle-'));
    // Elsewhere, as the data dir is: nothing may resolve from the output's own folder.
    out = path.join(await mkdtemp(path.join(os.tmpdir(), 'spindle-pbundle-out-')), 'demo');
    await project(dir);
  });
  afterEach(async () => {
    await stopBundler();
    await rm(dir, { recursive: true, force: true });
    await rm(path.dirname(out), { recursive: true, force: true });
  });

  it('runs on plain node from anywhere: packages as Node resolves them, import.meta.url naming the source', async () => {
    const built = await bundleProcess(spec());
    expect(built.built).toBe(true);
    expect(built.files.main).toBe(path.join(out, 'main.mjs'));
    const { stdout } = await run(process.execPath, [built.files.main], { cwd: os.tmpdir() });
    expect(JSON.parse(stdout)).toEqual({
      dep: 'esm',
      data: 'beside the source',
      here: pathToFileURL(path.join(dir, 'src/lib.ts')).href,
      mention: 'a string that says import.meta.url',
      constant: 'main.mjs',
    });
    // The package stays external, imported by absolute URL; the workspace's own code is inside.
    const code = await readFile(built.files.main, 'utf8');
    expect(code).toContain(pathToFileURL(path.join(dir, 'node_modules/dep/esm.mjs')).href);
    expect(code).toContain('dataBeside');
  });

  it('keeps the output while no input changes, and rebuilds when one does', async () => {
    expect((await bundleProcess(spec())).built).toBe(true);
    expect((await bundleProcess(spec())).built).toBe(false);
    await writeFile(path.join(dir, 'src/lib.ts'), (await readFile(path.join(dir, 'src/lib.ts'), 'utf8')).replace('a string', 'another string'));
    const again = await bundleProcess(spec());
    expect(again.built).toBe(true);
    const { stdout } = await run(process.execPath, [again.files.main]);
    expect(JSON.parse(stdout).mention).toBe('another string that says import.meta.url');
    // An output edited or damaged by hand is rebuilt too.
    await writeFile(again.files.main, '// damaged\n');
    expect((await bundleProcess(spec())).built).toBe(true);
  });
});
