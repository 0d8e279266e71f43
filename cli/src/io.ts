/** The process edges a command touches (streams, env, cwd, signals), passed in so tests can supply their own. */
import ora from 'ora';
import type { Env } from './config.ts';

type Out = NodeJS.WritableStream & { isTTY?: boolean };

export interface CliIo {
  stdout: Out;
  stderr: Out;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Env;
  cwd: string;
  /** Runs `fn` on SIGINT/SIGTERM; returns the unsubscribe function. */
  onInterrupt(fn: () => void): () => void;
}

/** The real process. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    onInterrupt(fn) {
      process.once('SIGINT', fn);
      process.once('SIGTERM', fn);
      return () => {
        process.off('SIGINT', fn);
        process.off('SIGTERM', fn);
      };
    },
  };
}

/** Writes one line to stdout. */
export function println(io: CliIo, line = ''): void {
  io.stdout.write(`${line}\n`);
}

/** Writes one line to stderr. */
export function eprintln(io: CliIo, line = ''): void {
  io.stderr.write(`${line}\n`);
}

/**
 * Runs a long step behind a spinner when stderr is a terminal; elsewhere (CI, pipes) prints nothing
 * and lets the caller's result lines be the progress.
 */
export async function withSpinner<T>(io: CliIo, text: string, fn: () => Promise<T>): Promise<T> {
  // A terminal that reports no width (some pseudo-terminals) would make ora redraw without end.
  if (!io.stderr.isTTY || !((io.stderr as NodeJS.WriteStream).columns > 0)) return fn();
  const spinner = ora({ text, stream: io.stderr as NodeJS.WriteStream, discardStdin: false }).start();
  try {
    return await fn();
  } finally {
    spinner.stop();
  }
}

/** Reads a stream to its end; an interactive terminal counts as empty. */
export async function readAll(stream: CliIo['stdin']): Promise<Buffer> {
  if (stream.isTTY) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Renders rows as left-aligned columns separated by two spaces. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** Short digest for tables and one-line messages: `sha256:0123456789ab`. */
export function shortDigest(digest: string): string {
  return digest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1');
}
