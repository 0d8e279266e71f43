import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDir, buildFunction, buildFunctions, readBuild } from './build.ts';
import { BuildFailedError } from './errors.ts';
import { loadStack } from './stack.ts';

const run = promisify(execFile);

/** A project with a stub runtime, a handler importing a local module and a CommonJS dependency. */
async function project(dir: string): Promise<void> {
  const files: Record<string, string> = {
    'stack.yml': 'provider:\n  name: spindle\nfunctions:\n  alpha:\n    handler: ./functions/alpha\n  beta:\n    handler: ./functions/beta\n  big:\n    lang: gpu\n    handler: ./functions/big\n',
    'functions/alpha/handler.ts': "import { greeting } from './lib.ts';\nimport dep from 'cjs-dep';\nexport default { value: `${greeting}/${dep}` };\n",
    'functions/alpha/lib.ts': "export const greeting: string = 'hello';\n",
    'functions/beta/handler.ts': "export default { value: 'beta' };\n",
    'functions/big/handler.ts': "import tiny from './tiny.onnx';\nimport made from './made.onnx';\nimport sharp from 'sharp';\nexport default { kind: 'gpu', models: { tiny, made }, sharp };\n",
    'functions/big/tiny.onnx': 'not really a model',
    // An ES module package, as the repository's GPU functions are: a recipe runs in a child process under Node's own rules.
    'functions/big/package.json': '{"type":"module"}',
    'functions/big/made.onnx.ts': "export default () => new TextEncoder().encode('made by a recipe');\n",
    'node_modules/cjs-dep/package.json': '{"name":"cjs-dep","main":"index.js"}',
    'node_modules/cjs-dep/index.js': "const os = require('node:os');\nmodule.exports = 'cjs:' + typeof os.cpus;\n",
    'node_modules/@spindle/runtime/package.json': '{"name":"@spindle/runtime","type":"module","exports":{"./watchdog":"./watchdog.js"}}',
    'node_modules/@spindle/runtime/watchdog.js':
      "export async function serve(definition) { console.log(JSON.stringify({ msg: 'listening', value: definition.value })); }\n",
  };
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
}

const options = (dir: string, outDir: string, force = false) => ({
  name: 'alpha',
  handlerDir: path.join(dir, 'functions/alpha'),
  stackDir: dir,
  outDir,
  force,
});

describe('build', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'spindle-build-'));
    await project(dir);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('produces the same bytes and digest from the same sources, wherever the output goes', async () => {
    const a = await buildFunction(options(dir, path.join(dir, 'out-a')));
    const b = await buildFunction(options(dir, path.join(dir, 'elsewhere/out-b')));
    expect(a.built && b.built).toBe(true);
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b.digest).toBe(a.digest);
    const bytes = await readFile(a.bundlePath);
    expect(bytes.equals(await readFile(b.bundlePath))).toBe(true);
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(a.digest);
    expect(bytes.toString()).not.toContain(dir);

    // The same project in another folder builds to the same digest: no absolute path leaks in.
    const copy = await mkdtemp(path.join(os.tmpdir(), 'spindle-build-copy-'));
    try {
      await cp(path.join(dir, 'functions'), path.join(copy, 'functions'), { recursive: true });
      await cp(path.join(dir, 'node_modules'), path.join(copy, 'node_modules'), { recursive: true });
      expect((await buildFunction(options(copy, path.join(copy, 'out')))).digest).toBe(a.digest);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('writes one self-contained ESM file that runs under node, CommonJS deps included', async () => {
    const result = await buildFunction(options(dir, path.join(dir, 'out')));
    const standalone = path.join(await mkdtemp(path.join(os.tmpdir(), 'spindle-run-')), 'bundle.mjs');
    await cp(result.bundlePath, standalone);
    const { stdout } = await run(process.execPath, [standalone], { env: { PATH: process.env.PATH, PORT: '0' } });
    expect(JSON.parse(stdout.trim())).toEqual({ msg: 'listening', value: 'hello/cjs:function' });
    await rm(path.dirname(standalone), { recursive: true, force: true });
  });

  it('skips an unchanged function and rebuilds when an input changes', async () => {
    const out = path.join(dir, 'out');
    const first = await buildFunction(options(dir, out));
    const second = await buildFunction(options(dir, out));
    expect(second).toMatchObject({ built: false, digest: first.digest });

    // A file in the folder that the bundle does not use changes nothing.
    await writeFile(path.join(dir, 'functions/alpha/README.md'), 'notes');
    expect((await buildFunction(options(dir, out))).built).toBe(false);

    // An imported module is an input too.
    await writeFile(path.join(dir, 'functions/alpha/lib.ts'), "export const greeting: string = 'bonjour';\n");
    const third = await buildFunction(options(dir, out));
    expect(third.built).toBe(true);
    expect(third.digest).not.toBe(first.digest);
    expect((await buildFunction(options(dir, out))).built).toBe(false);

    // Back to the old source: back to the old digest.
    await writeFile(path.join(dir, 'functions/alpha/lib.ts'), "export const greeting: string = 'hello';\n");
    expect(await buildFunction(options(dir, out))).toMatchObject({ built: true, digest: first.digest });

    // A damaged output is rebuilt; --force always rebuilds.
    await unlink(path.join(out, 'bundle.mjs'));
    expect((await buildFunction(options(dir, out))).built).toBe(true);
    expect((await buildFunction(options(dir, out, true))).built).toBe(true);
    const meta = JSON.parse(await readFile(path.join(out, 'meta.json'), 'utf8')) as { inputs: Record<string, string> };
    expect(Object.keys(meta.inputs)).toContain('functions/alpha/lib.ts');
  });

  it('imports the packages named in spindle.external from the install, by absolute URL, and rebuilds when one moves', async () => {
    const pkg = path.join(dir, 'node_modules/file-reader');
    await mkdir(pkg, { recursive: true });
    // A package that reads a file beside itself: bundled, __dirname would name the bundle's folder.
    await writeFile(path.join(pkg, 'package.json'), '{"name":"file-reader","main":"index.js"}');
    await writeFile(path.join(pkg, 'index.js'), "module.exports = require('node:fs').readFileSync(__dirname + '/data.txt', 'utf8');\n");
    await writeFile(path.join(pkg, 'data.txt'), 'from the install');
    const handler = "import { createRequire } from 'node:module';\nimport data from 'file-reader';\nconst at = createRequire(import.meta.url).resolve('file-reader/data.txt');\nexport default { value: `${data} ${at.endsWith('/node_modules/file-reader/data.txt')}` };\n";
    await writeFile(path.join(dir, 'functions/alpha/handler.ts'), handler);
    await writeFile(path.join(dir, 'functions/alpha/package.json'), '{"spindle":{"external":["file-reader"]}}');
    const out = path.join(dir, 'out');
    const result = await buildFunction(options(dir, out));
    const standalone = path.join(await mkdtemp(path.join(os.tmpdir(), 'spindle-run-')), 'bundle.mjs');
    await cp(result.bundlePath, standalone);
    const { stdout } = await run(process.execPath, [standalone], { env: { PATH: process.env.PATH, PORT: '0' } });
    // The handler's import.meta.url names its source, so it resolves installed files as it would under tsx.
    expect(JSON.parse(stdout.trim())).toEqual({ msg: 'listening', value: 'from the install true' });
    await rm(path.dirname(standalone), { recursive: true, force: true });
    expect((await buildFunction(options(dir, out))).built).toBe(false);
    await rm(pkg, { recursive: true });
    const err = await buildFunction(options(dir, out)).catch((e: unknown) => e);
    expect((err as Error).message).toContain('file-reader is listed in spindle.external but is not installed');
    await writeFile(path.join(dir, 'functions/alpha/package.json'), '{"spindle":{"external":"file-reader"}}');
    expect(String(await buildFunction(options(dir, out)).catch((e: unknown) => e))).toContain('spindle.external must be a list of package names');
  });

  it('reports esbuild errors with file:line:col', async () => {
    await writeFile(path.join(dir, 'functions/alpha/handler.ts'), "import { nope } from './missing.ts';\nexport default {\n  value: nope,\n");
    const err = await buildFunction(options(dir, path.join(dir, 'out'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildFailedError);
    expect((err as Error).message).toMatch(/^build of alpha failed:\n {2}functions\/alpha\/handler\.ts:\d+:\d+: /);
  });

  it('says when handler.ts is missing', async () => {
    await unlink(path.join(dir, 'functions/beta/handler.ts'));
    const err = await buildFunction({ ...options(dir, path.join(dir, 'out')), name: 'beta', handlerDir: path.join(dir, 'functions/beta') }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('functions/beta/handler.ts not found');
  });

  it('builds the stack into <dataDir>/build/<name>, GPU functions with their models, leaving filtered-out ones alone', async () => {
    const stack = await loadStack(path.join(dir, 'stack.yml'));
    const dataDir = path.join(dir, '.spindle');
    const all = await buildFunctions(stack, { dataDir });
    expect(all.map((r) => r.name)).toEqual(['alpha', 'beta', 'big']);
    const big = await readBuild(dataDir, 'big');
    expect(big?.models?.map((m) => m.source).sort()).toEqual(['functions/big/made.onnx.ts', 'functions/big/tiny.onnx']);
    const text = Buffer.from(big!.bytes).toString();
    for (const m of big!.models!) expect(text).toContain(m.digest);
    expect(text).toContain('globalThis.__spindleRequire("sharp")');
    expect(all[0]!.bundlePath).toBe(path.join(buildDir(dataDir, 'alpha'), 'bundle.mjs'));
    expect((await readBuild(dataDir, 'beta'))?.digest).toBe(all[1]!.digest);
    const one = await buildFunctions(stack, { dataDir, filter: 'beta' });
    expect(one).toMatchObject([{ name: 'beta', built: false }]);
  });

  it('finds @spindle/runtime through the CLI when the project does not install it', async () => {
    const bare = await mkdtemp(path.join(os.tmpdir(), 'spindle-bare-'));
    try {
      await mkdir(path.join(bare, 'fn'));
      await writeFile(path.join(bare, 'fn/handler.ts'), "export default { kind: 'control', handle: () => 'ok' };\n");
      const result = await buildFunction({ name: 'fn', handlerDir: path.join(bare, 'fn'), stackDir: bare, outDir: path.join(bare, 'out') });
      expect(result.built).toBe(true);
      expect((await readFile(result.bundlePath, 'utf8')).includes(bare)).toBe(false);
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });
});
