/**
 * `spindle run --follow` and `spindle logs --follow` against a real gateway, through a TCP proxy that cuts their
 * streams part-way (mid-event, with a FIN or a reset): the CLI reconnects, resumes with Last-Event-ID / the log
 * cursor, and prints every event and line exactly once.
 */
import { spawn } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Platform } from '@spindle/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startPlatform, tempDir, uniqueName, type Api } from './harness.ts';
import { sseData } from './sse.ts';

/** Cut the n-th matching response after `items` whole items, forwarding the first bytes of the next one. */
interface Cut {
  items: number;
  /** Where an item starts in the response bytes. */
  mark: string;
  /** Reset the connection (RST) instead of closing it (FIN). */
  reset?: boolean;
}

/** A TCP proxy to the gateway that cuts the responses of requests matching a pattern, one planned cut per request. */
class CuttingProxy {
  readonly cuts = new Map<RegExp, Cut[]>();
  readonly sockets = new Set<Socket>();
  cutCount = 0;
  private server!: Server;
  url = '';

  constructor(private readonly upstream: URL) {}

  async listen(): Promise<void> {
    this.server = createServer((client) => this.pipe(client));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  private pipe(client: Socket): void {
    const server = connect(Number(this.upstream.port), this.upstream.hostname);
    for (const s of [client, server]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {});
    }
    let plan: Cut | undefined;
    let seen = '';
    client.on('data', (chunk: Buffer) => {
      // Keep-alive: a connection carries one request after another; each may be planned for a cut.
      const line = /^[A-Z]+ (\S+) HTTP\/1\.1\r\n/.exec(chunk.toString('latin1'));
      if (line) {
        const entry = [...this.cuts].find(([pattern, plans]) => pattern.test(line[1]!) && plans.length > 0);
        plan = entry?.[1].shift();
        seen = '';
      }
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (!plan) return void client.write(chunk);
      const before = seen.length;
      seen += chunk.toString('latin1');
      let at = -1;
      for (let i = 0; i <= plan.items; i++) {
        at = seen.indexOf(plan.mark, at + 1);
        if (at < 0) return void client.write(chunk);
      }
      // The next item has started: forward a few bytes of it, then cut both sides.
      client.write(chunk.subarray(0, at + 6 - before));
      const reset = plan.reset;
      plan = undefined;
      this.cutCount++;
      if (reset) client.resetAndDestroy();
      else client.destroy();
      server.destroy();
    });
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

let platform: Platform;
let api: Api;
let stop: () => Promise<void>;
let proxy: CuttingProxy;

beforeAll(async () => {
  ({ platform, api, stop } = await startPlatform({ natsPrefix: uniqueName('sseresume') }));
  proxy = new CuttingProxy(new URL(api.url));
  await proxy.listen();
  for (const [service, fn] of [
    ['tick', 'tick'],
    ['chatty', 'tick'],
  ]) {
    const res = await api.deploy(service!, fn!);
    expect(res.status, await res.clone().text()).toBe(202);
  }
  await api.waitReplicas('tick', 1);
  // Its replica prints lines of its own into chatty's logs; the test counts only the lines it writes itself.
  await api.waitReplicas('chatty', 1);
  const chain = {
    nodes: {
      a: { function: 'tick', input: { label: 'a', ms: 200, ticks: '{{ input.start }}' } },
      b: { function: 'tick', input: { label: 'b', ms: 200, ticks: '{{ nodes.a.output.ticks }}' } },
      c: { function: 'tick', input: { label: 'c', ms: 200, ticks: '{{ nodes.b.output.ticks }}' } },
    },
  };
  const put = await api.system('PUT', '/system/graphs/chain', chain);
  expect(put.status, await put.clone().text()).toBe(201);
}, 120_000);
afterAll(async () => {
  await proxy?.close();
  await stop?.();
});

/** The real `spindle` binary, talking to the gateway through the proxy; stderr is a pipe, so node lines print once each. */
async function cli(args: string[]) {
  const child = spawn(process.execPath, [join(ROOT, 'cli/bin/spindle.mjs'), ...args, '-g', proxy.url], {
    cwd: await tempDir('spindle-sse-'),
    env: { ...process.env, SPINDLE_ADMIN_PASSWORD: api.password, OPENFAAS_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = new Promise<number | null>((resolve) => child.on('close', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  void code.then(() => clearTimeout(timer));
  return { code, stdout: () => stdout, stderr: () => stderr, interrupt: () => child.kill('SIGINT') };
}

async function until(check: () => boolean, what: string, output: () => string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the CLI printed:\n${output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('spindle run --follow', () => {
  it('resumes a cut event stream with Last-Event-ID: every node line once, then the output', async () => {
    const before = proxy.cutCount;
    // First stream: cut mid-way through its 3rd event with a FIN; second: mid-way through its 4th with a reset.
    proxy.cuts.set(/^\/runs\/[^/]+\/events/, [
      { items: 2, mark: '\nid: ' },
      { items: 3, mark: '\nid: ', reset: true },
    ]);
    const run = await cli(['run', 'chain', '--follow', '--data', '{"start":10}']);
    expect(await run.code, run.stderr()).toBe(0);
    expect(proxy.cutCount - before).toBe(2);
    expect(JSON.parse(run.stdout())).toEqual({ label: 'c', ticks: 13 });

    const stderr = run.stderr().trimEnd().split('\n');
    expect(stderr.filter((l) => l.startsWith('reconnecting… ')), run.stderr()).toHaveLength(2);
    const runId = /^run (\S+) of chain$/.exec(stderr[0]!)![1]!;
    // The stream as stored, read directly: the CLI printed one line per node event, each once, in this order.
    const res = await api.system('GET', `/runs/${runId}/events`);
    const events = sseData<{ seq: number; type: string; node?: string }>(await res.text());
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const nodeLines = stderr.filter((l) => /^[abc] /.test(l));
    expect(nodeLines.map((l) => l[0])).toEqual(events.filter((e) => e.node).map((e) => e.node));
    for (const node of ['a', 'b', 'c']) {
      const lines = nodeLines.filter((l) => l.startsWith(`${node} `));
      expect(lines.filter((l) => l.endsWith('running tick')), lines.join('\n')).toHaveLength(1);
      expect(lines.filter((l) => / done in [\d.]+ ms$/.test(l)), lines.join('\n')).toHaveLength(1);
    }
  });

  it('ends a stream resumed after the final event at once, instead of pinging forever', async () => {
    const { runId } = await (await api.system('POST', '/graphs/chain/runs?wait=true', { input: { start: 0 } })).json();
    const all = sseData<{ seq: number; type: string }>(await (await api.system('GET', `/runs/${runId}/events`)).text());
    expect(all.at(-1)!.type).toBe('run.succeeded');
    const last = String(all.at(-1)!.seq);
    const resumed = await api.system('GET', `/runs/${runId}/events`, undefined, { 'last-event-id': last });
    expect(sseData(await Promise.race([resumed.text(), new Promise<string>((_, reject) => setTimeout(() => reject(new Error('still open')), 5_000))]))).toEqual([]);
    const tail = await api.system('GET', `/runs/${runId}/events`, undefined, { 'last-event-id': String(all.at(-1)!.seq - 1) });
    expect(sseData<{ type: string }>(await tail.text()).map((e) => e.type)).toEqual(['run.succeeded']);
  });
});

describe('spindle logs --follow', () => {
  it('resumes a cut log stream after the last line printed: every line once, in order, lines written meanwhile included', async () => {
    const push = (from: number, to: number) => {
      for (let i = from; i <= to; i++) platform.logs.push('chatty', 'chatty-test', `line ${i}`);
    };
    push(1, 5);
    const before = proxy.cutCount;
    // NDJSON: a line of the test's own holds this. First stream: cut in its 4th line (FIN); second: in its 3rd (reset).
    const mark = '"instance":"chatty-test"';
    proxy.cuts.set(/^\/system\/logs/, [
      { items: 3, mark },
      { items: 2, mark, reset: true },
    ]);
    const logs = await cli(['logs', 'chatty', '--follow']);
    const output = () => logs.stdout() + logs.stderr();
    const printed = () => [...logs.stdout().matchAll(/^\S+ chatty-test (.*)$/gm)].map((m) => m[1]);
    await until(() => proxy.cutCount - before === 1 && printed().includes('line 5'), 'the first cut and line 5', output);
    // The second stream holds lines 4 and 5; line 6 starts its third item, where it is cut. Lines 7-9 are
    // written while the CLI waits to reconnect.
    push(6, 6);
    await until(() => proxy.cutCount - before === 2, 'the second cut', output);
    push(7, 9);
    await until(() => printed().includes('line 9'), 'line 9', output);
    push(10, 12);
    await until(() => printed().includes('line 12'), 'line 12', output);
    logs.interrupt();
    expect(await logs.code, logs.stderr()).toBe(0);
    expect(printed()).toEqual(Array.from({ length: 12 }, (_, i) => `line ${i + 1}`));
    expect(logs.stderr().split('\n').filter((l) => l.startsWith('reconnecting… '))).toHaveLength(2);
  });

  it('answers a cursor with the lines after it, as NDJSON by default and as SSE when asked', async () => {
    for (let i = 1; i <= 3; i++) platform.logs.push('chatty', 'chatty-test', `cursor ${i}`);
    const all = (await (await api.system('GET', '/system/logs?name=chatty')).text()).trim().split('\n').map((l) => JSON.parse(l));
    const first = all.find((l) => l.text === 'cursor 1');
    expect(first.cursor).toMatch(/^[0-9a-f]{8}-\d+$/);
    const after = await api.system('GET', `/system/logs?name=chatty&after=${first.cursor}`);
    expect(after.headers.get('content-type')).toContain('application/x-ndjson');
    expect((await after.text()).trim().split('\n').map((l) => JSON.parse(l).text)).toEqual(['cursor 2', 'cursor 3']);
    const sse = await api.system('GET', '/system/logs?name=chatty&tail=2', undefined, { accept: 'text/event-stream' });
    expect(sse.headers.get('content-type')).toContain('text/event-stream');
    const events = sseData<{ text: string; cursor: string }>(await sse.text());
    expect(events.map((e) => e.text)).toEqual(['cursor 2', 'cursor 3']);
    const resumed = await api.system('GET', '/system/logs?name=chatty', undefined, { accept: 'text/event-stream', 'last-event-id': events[0]!.cursor });
    expect(sseData<{ text: string }>(await resumed.text()).map((e) => e.text)).toEqual(['cursor 3']);
    // A cursor of another hub (the gateway before a restart) names no kept line: every kept line is new.
    const other = await api.system('GET', '/system/logs?name=chatty&after=ffffffff-1');
    expect((await other.text()).trim().split('\n')).toHaveLength(all.length);
    const bad = await api.system('GET', '/system/logs?name=chatty&after=yesterday');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toContain('"after"');
  });
});
