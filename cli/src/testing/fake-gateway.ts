/** A tiny real HTTP server for tests: records every request and answers with a per-test handler. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { CliIo } from '../io.ts';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface FakeReply {
  status?: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; an array of strings is written chunk by chunk. */
  body?: unknown;
}

export type FakeHandler = (req: RecordedRequest) => FakeReply | Promise<FakeReply>;

export interface FakeGateway {
  url: string;
  requests: RecordedRequest[];
  /** Replaces the handler. */
  handle(fn: FakeHandler): void;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 with a random port. */
export async function startFakeGateway(handler: FakeHandler = () => ({ status: 200, body: [] })): Promise<FakeGateway> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
    requests.push(recorded);
    const reply = await current(recorded);
    const headers = { ...reply.headers };
    const body = reply.body;
    if (body !== undefined && !Buffer.isBuffer(body) && typeof body !== 'string' && !isChunks(body)) headers['content-type'] ??= 'application/json';
    res.writeHead(reply.status ?? 200, headers);
    if (body === undefined) return res.end();
    if (isChunks(body)) {
      for (const chunk of body.chunks) {
        res.write(chunk);
        await new Promise((r) => setTimeout(r, 5));
      }
      return res.end();
    }
    res.end(Buffer.isBuffer(body) || typeof body === 'string' ? body : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    handle(fn) {
      current = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A body written in several chunks, to exercise streaming. */
export function chunks(...parts: string[]): { chunks: string[] } {
  return { chunks: parts };
}

function isChunks(body: unknown): body is { chunks: string[] } {
  return typeof body === 'object' && body !== null && Array.isArray((body as { chunks?: unknown }).chunks);
}

/** An in-memory CliIo: collect stdout/stderr as text, feed stdin, fire interrupts by hand. */
export function memoryIo(opts: { cwd: string; env?: Record<string, string | undefined>; stdin?: string | Buffer }) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (opts.stdin === undefined) stdin.isTTY = true;
  stdin.end(opts.stdin ?? '');
  const interrupts = new Set<() => void>();
  const io: CliIo = {
    stdout,
    stderr,
    stdin,
    env: opts.env ?? {},
    cwd: opts.cwd,
    onInterrupt(fn) {
      interrupts.add(fn);
      return () => interrupts.delete(fn);
    },
  };
  return {
    io,
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => Buffer.concat(err).toString('utf8'),
    interrupt: () => {
      for (const fn of [...interrupts]) fn();
    },
  };
}
