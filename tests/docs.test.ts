/**
 * The README's examples are the real files, so they cannot drift; and every command that README.md (```sh
 * blocks) and stack.yml (comments) show runs as written against a running platform (`spindle start` in a temp
 * copy of the project), so a command that does not work fails here.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../functions/vad/wav.ts';
import { ROOT, run, spawnUntil, tempDir } from './harness.ts';
import { concat, hush, voice } from './voice.ts';

it('README shows functions/greet/handler.ts as it is', async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const block = /```ts\n\/\/ functions\/greet\/handler\.ts\n([\s\S]*?)```/.exec(readme);
  expect(block, 'README has the greet example').not.toBeNull();
  expect(block![1]).toBe(await readFile(join(ROOT, 'functions', 'greet', 'handler.ts'), 'utf8'));
});

it('README quickstart is exactly the two set-up commands', async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const quickstart = readme.slice(readme.indexOf('## Quickstart'), readme.indexOf('`npm start` starts'));
  expect(quickstart.match(/```sh\n(.*)\n```/g)).toEqual(['```sh\nnpm ci && npm start\n```', '```sh\nnpm test\n```']);
});

/** The commands of the README's ```sh blocks: lines joined at a trailing backslash, comment-only lines (shown output) left out. */
function readmeCommands(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```/gm)].flatMap((m) =>
    m[1]
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  );
}

/** The commands stack.yml's comments show: `# curl ...`, `# Try it: npx spindle ...`. */
function stackCommands(yaml: string): string[] {
  return yaml.split('\n').flatMap((line) => {
    const m = /^\s*#(?:.*?:)?\s*((?:npx|npm|curl|node)\s.+)$/.exec(line);
    return m ? [m[1].trim()] : [];
  });
}

const COMMANDS = [...new Set([...readmeCommands(readFileSync(join(ROOT, 'README.md'), 'utf8')), ...stackCommands(readFileSync(join(ROOT, 'stack.yml'), 'utf8'))])];

/** Commands this test cannot run as written, each with the reason. Everything else runs. */
const SKIP: Record<string, string> = {
  // The platform this test starts is `spindle start`, which is what `npm start` runs; `npm ci` is what set up
  // the tree this test runs from (CI runs it first: .ci/run).
  'npm ci && npm start': 'the set-up this test itself stands on',
  'npm test': 'runs this test (and the whole suite) again',
  'npm run dev:web': "Vite's dev server runs until Ctrl-C (tests/web.test.ts drives the built app in Chromium instead)",
  'git clone --branch 0.16.37 --depth 1 https://github.com/openfaas/faas-cli /tmp/faas-cli && cd /tmp/faas-cli': 'fetches faas-cli from GitHub (this machine reaches no network but npm and Debian)',
  'CGO_ENABLED=0 GOFLAGS=-mod=vendor go build -ldflags "-s -w -X github.com/openfaas/faas-cli/version.Version=0.16.37" -o /usr/local/bin/faas-cli .': 'builds the faas-cli the line above fetched',
  'npx spindle run talking-portrait --file portrait=/usr/lib/python3/dist-packages/skimage/data/astronaut.png --data \'{"prompt":"the history of tea","sentences":2}\' --follow --download out':
    'tests/pipeline.test.ts runs this command (the real CLI, the whole graph, the MP4 checked frame by frame); here it would be a second full pipeline run',
};
// Deploying: what needs a Docker engine, a Kubernetes cluster or an OpenFaaS cluster (none is on these machines).
for (const c of COMMANDS) {
  if (/^docker compose /.test(c)) SKIP[c] = 'needs a Docker engine with the NVIDIA runtime (docker-compose config checks the file instead)';
  else if (/^kubectl (apply|create|scale|-n \S+ (create|scale))\b/.test(c)) SKIP[c] = 'needs a Kubernetes cluster (kubectl kustomize renders the manifests offline instead)';
  else if (/^faas-cli (secret create|deploy) .*(s3-secret-key|runtime)/.test(c)) SKIP[c] = 'needs an OpenFaaS cluster (tests/runtime-image.test.ts runs the runtime entry point instead)';
}
if ((spawnSync('sh', ['-c', 'command -v kubectl']).status ?? 1) !== 0) for (const c of COMMANDS) if (c.startsWith('kubectl ')) SKIP[c] ??= 'kubectl is not installed';
// Where faas-cli is absent (tests/faas-cli.test.ts says how to build it), its commands cannot run: CI skips them loudly.
if (process.env.SPINDLE_SKIP_FAAS_CLI === '1') {
  for (const c of COMMANDS) if (/(^|\| )faas-cli /.test(c)) SKIP[c] = 'faas-cli is not on PATH (SPINDLE_SKIP_FAAS_CLI=1)';
}

/** What a command's output must show, beyond exiting 0 (looked up by a pattern of the command). */
const CHECKS: Array<[RegExp, (out: { stdout: string; stderr: string }, project: string) => Promise<void> | void]> = [
  [/^curl -d 'hello' .*\/function\/echo$/, ({ stdout }) => expect(stdout).toBe('hello')],
  [/spindle invoke greet$/, ({ stdout }) => expect(JSON.parse(stdout)).toEqual({ greeting: 'Hello, Ada!' })],
  [/spindle list$/, ({ stdout }) => expect(stdout).toMatch(/^echo\s/m)],
  [
    /\/function\/vad$/,
    ({ stdout }) => {
      // speech.wav: 4 s, voiced from 1 s to 3 s, as the README's sample answer says.
      const { segments, duration } = JSON.parse(stdout);
      expect(duration).toBe(4);
      expect(segments).toHaveLength(1);
      expect(Math.abs(segments[0].start - 1)).toBeLessThan(0.25);
      expect(Math.abs(segments[0].end - 3)).toBeLessThan(0.3);
    },
  ],
  [
    /\/function\/matte$/,
    async (_out, project) => {
      const meta = await sharp(join(project, 'cutout.png')).metadata();
      expect(meta).toMatchObject({ format: 'png', width: 320, height: 240, channels: 4 });
    },
  ],
  [/spindle run demo/, ({ stdout }) => expect(JSON.parse(stdout)).toEqual({ summary: 'HELLO, ADA! (2 words)' })],
  [/\/artifacts$/, ({ stdout }) => expect(JSON.parse(stdout)).toMatchObject({ key: expect.stringMatching(/^uploads\/[0-9a-f]{64}\.png$/), contentType: 'image/png' })],
  [/\/function\/script$/, ({ stdout }) => expect(JSON.parse(stdout)).toMatchObject({ generator: 'grammar', seed: 7, narration: expect.stringContaining('the history of tea') })],
  [/\/function\/tts$/, ({ stdout }) => expect(JSON.parse(stdout)).toMatchObject({ audio: expect.stringMatching(/^speech\/.+\.wav$/), sampleRate: 16000, voice: 'slt' })],
  [/faas-cli invoke greet$/, ({ stdout }) => expect(JSON.parse(stdout)).toEqual({ greeting: 'Hello, Ada!' })],
  [/faas-cli list$/, ({ stdout }) => expect(stdout).toMatch(/^greet\s/m)],
  [/async-function\/echo$/, ({ stdout }) => expect(stdout).toMatch(/^HTTP\/1\.1 202[\s\S]*^x-call-id: /im)],
];

describe('every command README.md and stack.yml show works as written', () => {
  let project: string;
  let env: NodeJS.ProcessEnv;
  let gateway: string;
  let server: ChildProcess | undefined;
  let callbacks: Server;
  const called: string[] = [];
  let callbackUrl: string;

  beforeAll(async () => {
    project = await tempDir('spindle-docs-');
    await cp(join(ROOT, 'stack.yml'), join(project, 'stack.yml'));
    await cp(join(ROOT, 'functions'), join(project, 'functions'), { recursive: true });
    // Deploying's commands check the compose file, Prometheus config and Kubernetes manifests offline.
    await cp(join(ROOT, 'infra'), join(project, 'infra'), { recursive: true });
    await cp(join(ROOT, 'docker-compose.yml'), join(project, 'docker-compose.yml'));
    await symlink(join(ROOT, 'node_modules'), join(project, 'node_modules'), 'dir');
    // The files the commands name, as a user would have them.
    await writeFile(join(project, 'input.json'), '{"name":"Ada"}\n');
    await writeFile(join(project, 'speech.wav'), encodeWav(concat(hush(1), voice(2, 16_000, 1), hush(1)), 16_000));
    const scene = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240"><rect width="100%" height="100%" fill="#1e3a8a"/><circle cx="160" cy="120" r="70" fill="#fde047"/></svg>`;
    await writeFile(join(project, 'photo.jpg'), await sharp(Buffer.from(scene)).jpeg().toBuffer());
    // `npx spindle` as the project's own bin runs it; real curl, exiting non-zero on an HTTP error status
    // (curl alone exits 0 on a 404 or 500) while still printing the body.
    const bin = join(project, '.docs-bin');
    await mkdir(bin);
    const shims = {
      npx: `#!/bin/sh\nif [ "$1" = spindle ]; then shift; exec "${process.execPath}" "${join(ROOT, 'cli', 'bin', 'spindle.mjs')}" "$@"; fi\necho "docs test: only 'npx spindle' is provided, not: npx $*" >&2\nexit 127\n`,
      curl: `#!/bin/sh\nexec "$(PATH="$DOCS_REAL_PATH" command -v curl)" --fail-with-body --silent --show-error "$@"\n`,
    };
    for (const [name, text] of Object.entries(shims)) {
      await writeFile(join(bin, name), text);
      await chmod(join(bin, name), 0o755);
    }
    callbacks = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        called.push(body);
        res.end();
      });
    });
    await new Promise<void>((r) => callbacks.listen(0, '127.0.0.1', r));
    callbackUrl = `http://127.0.0.1:${(callbacks.address() as AddressInfo).port}`;

    const port = 20000 + Math.floor(Math.random() * 20000);
    env = {
      PORT: String(port),
      OPENFAAS_URL: `http://127.0.0.1:${port}`,
      SPINDLE_CONFIG_DIR: join(project, '.config'),
      SPINDLE_NATS_PREFIX: `docs_${port}`,
      SPINDLE_REDIS_PREFIX: `docs_${port}`,
      SPINDLE_GPU_METRICS_PORT: '0',
      PATH: `${bin}:${process.env.PATH}`,
      DOCS_REAL_PATH: process.env.PATH,
    };
    const started = await spawnUntil(process.execPath, [join(ROOT, 'cli', 'bin', 'spindle.mjs'), 'start'], /Spindle gateway listening on (http:\/\/127\.0\.0\.1:\d+)/, { cwd: project, env, timeoutMs: 170_000 });
    server = started.child;
    gateway = started.match[1];
  }, 180_000);

  afterAll(async () => {
    server?.kill('SIGINT');
    callbacks?.close();
    await new Promise((r) => setTimeout(r, 1000));
  });

  it('finds the commands, and every skipped one is still shown', () => {
    expect(COMMANDS.length).toBeGreaterThanOrEqual(10);
    expect(COMMANDS).toContain(`npx spindle run demo --input '{"name":"Ada"}' --follow`);
    for (const skipped of Object.keys(SKIP)) expect(COMMANDS, `skip list entry "${skipped}"`).toContain(skipped);
  });

  for (const command of COMMANDS) {
    if (SKIP[command]) {
      it.skip(`${command} (skipped: ${SKIP[command]})`, () => {});
      continue;
    }
    it(command, async () => {
      // The gateway and the callback receiver run on free ports rather than 8080 and 9000: only the addresses change.
      const local = command.replaceAll('http://127.0.0.1:8080', gateway).replaceAll('http://127.0.0.1:9000', callbackUrl);
      const before = called.length;
      const out = await run('bash', ['-o', 'pipefail', '-c', local], { cwd: project, env, timeoutMs: 150_000 });
      expect(out.code, `${command}\nstdout: ${out.stdout}\nstderr: ${out.stderr}`).toBe(0);
      for (const [pattern, check] of CHECKS) if (pattern.test(command)) await check(out, project);
      if (/X-Callback-Url|--callback/.test(command)) {
        // Queued calls reach the callback.
        const deadline = Date.now() + 30_000;
        while (called.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(called.slice(before).map((b) => b.trim())).toContain('hello');
      }
    }, 160_000);
  }
});
