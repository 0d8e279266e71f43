/**
 * Hostile or broken stack files through the real CLI: each is refused with one clear line and exit 1,
 * and nothing reaches the gateway (a real HTTP server that records every request).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './main.ts';
import { memoryIo, startFakeGateway, type FakeGateway } from './testing/fake-gateway.ts';

const head = 'provider:\n  name: spindle\nfunctions:\n  one:\n    handler: ./functions/one\n';

/** A "billion laughs" stack: nine levels of nine aliases of the level below. */
function aliasBomb(): string {
  const lines = [head.trimEnd(), 'configuration:', '  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let i = 1; i < 10; i++) lines.push(`  l${i}: &l${i} [${new Array(9).fill(`*l${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

describe('stack files the CLI refuses before it sends anything', () => {
  let gw: FakeGateway;
  let root: string;
  let dir: string;
  let outside: string;
  let env: Record<string, string>;

  /** Runs `spindle args` in the project; returns the exit code and stderr. */
  async function spindle(...args: string[]): Promise<{ code: number; stderr: string }> {
    const t = memoryIo({ cwd: dir, env });
    const code = await runCli(args, t.io);
    return { code, stderr: t.stderr() };
  }

  beforeEach(async () => {
    // Every request succeeds, as a gateway would: what matters is that none arrives.
    gw = await startFakeGateway((req) => ({ status: req.method === 'HEAD' ? 404 : req.method === 'GET' ? 200 : 201, body: req.method === 'GET' ? [] : { version: 1 } }));
    root = await mkdtemp(path.join(os.tmpdir(), 'spindle-safety-'));
    dir = path.join(root, 'project');
    outside = path.join(root, 'outside');
    env = { OPENFAAS_URL: gw.url, SPINDLE_ADMIN_PASSWORD: 'pw', SPINDLE_CONFIG_DIR: path.join(root, 'config') };
    await mkdir(path.join(dir, 'node_modules/@spindle/runtime'), { recursive: true });
    await writeFile(path.join(dir, 'node_modules/@spindle/runtime/package.json'), '{"name":"@spindle/runtime","type":"module","exports":{"./watchdog":"./w.js"}}');
    await writeFile(path.join(dir, 'node_modules/@spindle/runtime/w.js'), 'export async function serve() {}\n');
    for (const fn of [path.join(dir, 'functions/one'), path.join(dir, 'functions/two'), path.join(outside, 'fn')]) {
      await mkdir(fn, { recursive: true });
      await writeFile(path.join(fn, 'handler.ts'), 'export default { name: "x" };\n');
    }
    await writeFile(path.join(outside, 'graph.yml'), 'nodes:\n  a:\n    function: one\n');
    await writeFile(path.join(outside, 'env.yml'), 'environment:\n  SECRET: from-outside\n');
  });
  afterEach(async () => {
    await gw.close();
    await rm(root, { recursive: true, force: true });
  });

  it('(a) a YAML alias bomb is a clear error naming the file, not "unexpected failure"', async () => {
    await writeFile(path.join(dir, 'stack.yml'), aliasBomb());
    const { code, stderr } = await spindle('deploy');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: stack\.yml:\d+:\d+: aliases \(\*name\) expand to too much data .*"billion laughs"/);
    expect(stderr).not.toContain('unexpected failure');
    expect(gw.requests).toEqual([]);
  });

  it('(b) deep nesting is "nested too deep" with its line, not a stack overflow', async () => {
    await writeFile(path.join(dir, 'stack.yml'), `${head}configuration:\n  x: ${'['.repeat(3000)}${']'.repeat(3000)}\n`);
    const flow = await spindle('deploy');
    expect(flow.code).toBe(1);
    expect(flow.stderr).toMatch(/^error: stack\.yml:7:\d+: configuration is nested deeper than 64 levels\n$/);
    const block = Array.from({ length: 100 }, (_, i) => `${' '.repeat(2 * i + 2)}k${i}:`).join('\n');
    await writeFile(path.join(dir, 'stack.yml'), `${head}configuration:\n${block} 1\n`);
    const indented = await spindle('build');
    expect(indented.code).toBe(1);
    expect(indented.stderr).toMatch(/^error: stack\.yml:\d+:\d+: configuration is nested deeper than 64 levels\n$/);
    expect(indented.stderr).not.toContain('Maximum call stack');
    expect(gw.requests).toEqual([]);
  });

  it('(c) a graph file outside the project folder is refused and never read or sent', async () => {
    await writeFile(path.join(dir, 'stack.yml'), `${head}graphs:\n  g:\n    file: ../../../../../../../../etc/passwd\n`);
    const passwd = await spindle('up');
    expect(passwd.code).toBe(1);
    expect(passwd.stderr).toMatch(/^error: stack\.yml:8:11: graphs\.g\.file "\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" leads outside the project folder .*: paths in a stack file must stay inside its folder\n$/);
    await writeFile(path.join(dir, 'stack.yml'), `${head}graphs:\n  g:\n    file: ../outside/graph.yml\n`);
    expect((await spindle('deploy')).stderr).toMatch(/graphs\.g\.file "\.\.\/outside\/graph\.yml" leads outside the project folder/);
    // A symlink inside the project that leads out of it is refused too.
    await symlink(path.join(outside, 'graph.yml'), path.join(dir, 'graph.yml'));
    await writeFile(path.join(dir, 'stack.yml'), `${head}graphs:\n  g:\n    file: ./graph.yml\n`);
    const linked = await spindle('up');
    expect(linked.code).toBe(1);
    expect(linked.stderr).toMatch(/^error: stack\.yml:8:11: graphs\.g\.file "\.\/graph\.yml" resolves through a symlink to .*outside\/graph\.yml, outside the project folder/);
    expect(gw.requests).toEqual([]);
  });

  it('(c) handlers and environment files outside the project folder are refused too', async () => {
    await writeFile(path.join(dir, 'stack.yml'), 'provider:\n  name: spindle\nfunctions:\n  one:\n    handler: ../outside/fn\n');
    const up = await spindle('up');
    expect(up.code).toBe(1);
    expect(up.stderr).toMatch(/^error: stack\.yml:5:14: functions\.one\.handler "\.\.\/outside\/fn" leads outside the project folder/);
    await symlink(path.join(outside, 'fn'), path.join(dir, 'functions/linked'));
    await writeFile(path.join(dir, 'stack.yml'), 'provider:\n  name: spindle\nfunctions:\n  one:\n    handler: ./functions/linked\n');
    expect((await spindle('up')).stderr).toMatch(/functions\.one\.handler "\.\/functions\/linked" resolves through a symlink to .*outside\/fn, outside the project folder/);
    await writeFile(path.join(dir, 'stack.yml'), `${head}    environment_file:\n      - ../outside/env.yml\n`);
    expect((await spindle('up')).stderr).toMatch(/^error: stack\.yml:7:9: functions\.one\.environment_file\.0 "\.\.\/outside\/env\.yml" leads outside the project folder/);
    expect(gw.requests).toEqual([]);
  });

  it('(d) a graph with a cycle stops `up` and `deploy` before any function is built or deployed', async () => {
    const graph = 'graphs:\n  loop:\n    nodes:\n      a: { function: one, needs: [b] }\n      b: { function: two, needs: [a] }\n';
    await writeFile(path.join(dir, 'stack.yml'), `${head}  two:\n    handler: ./functions/two\n${graph}`);
    const up = await spindle('up');
    expect(up.code).toBe(1);
    expect(up.stderr).toBe('error: stack.yml:11:27: graph loop: node "a" field "needs": the graph has a cycle through nodes "a", "b"\n');
    const built = await spindle('build');
    expect(built.code).toBe(0);
    const deploy = await spindle('deploy');
    expect(deploy.code).toBe(1);
    expect(deploy.stderr).toBe(up.stderr);
    expect(gw.requests).toEqual([]);
  });

  it('(d) a graph naming a function neither in the stack nor on the gateway stops the deploy after one look', async () => {
    await writeFile(path.join(dir, 'stack.yml'), `${head}graphs:\n  g:\n    nodes:\n      a: { function: ghost }\n`);
    expect((await spindle('build')).code).toBe(0);
    const deploy = await spindle('deploy');
    expect(deploy.code).toBe(1);
    expect(deploy.stderr).toBe('error: stack.yml:9:12: graph g: node "a" field "function": function "ghost" is not deployed\n');
    expect(gw.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /system/functions']);
  });

  it('(e) version must be "1.0", as faas-cli reads it', async () => {
    for (const bad of ['abc', '"abc"', '1', '2.0', '1.00']) {
      await writeFile(path.join(dir, 'stack.yml'), `version: ${bad}\n${head}`);
      const { code, stderr } = await spindle('deploy');
      expect(code, bad).toBe(1);
      expect(stderr, bad).toBe('error: stack.yml:1:10: version must be "1.0"\n');
    }
    for (const good of ['1.0', '"1.0"', "'1.0'"]) {
      await writeFile(path.join(dir, 'stack.yml'), `version: ${good}\n${head}`);
      expect((await spindle('build')).code, good).toBe(0);
    }
    expect(gw.requests).toEqual([]);
  });
});
