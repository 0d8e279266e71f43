/**
 * Artifacts from the CLI: upload a local file (with progress on stderr for big ones) and get its key, download
 * a key to a file, and the `--file field=path` / `--download DIR` plumbing of `spindle run`.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { mediaTypeOf } from '@spindle/schemas';
import type { GatewayClient } from './client.ts';
import { UsageError } from './errors.ts';
import { eprintln, type CliIo } from './io.ts';

/** Files below this size upload without a progress line. */
const QUIET_BELOW = 1024 * 1024;

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

/** Yields the file's chunks, reporting progress on stderr: redrawn in place on a terminal, at each quarter elsewhere. */
async function* withProgress(io: CliIo, label: string, source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Uint8Array> {
  const tty = Boolean(io.stderr.isTTY);
  let sent = 0;
  let shown = -1;
  for await (const chunk of source) {
    sent += chunk.length;
    yield chunk;
    if (size < QUIET_BELOW) continue;
    const pct = Math.floor((sent / size) * 100);
    if (tty) {
      if (pct !== shown) io.stderr.write(`\r\x1b[2Kuploading ${label} ${pct}% (${mb(sent)} of ${mb(size)})`);
    } else if (Math.floor(pct / 25) > Math.floor(shown / 25)) eprintln(io, `uploading ${label} ${pct}% (${mb(sent)} of ${mb(size)})`);
    shown = pct;
  }
  if (tty && size >= QUIET_BELOW) io.stderr.write('\n');
}

/**
 * Uploads a local file to `POST /artifacts`; its media type comes from the extension. Returns the key.
 * @example const key = await uploadFile(client, io, 'me.jpg'); // 'uploads/3f…a1.jpg'
 */
export async function uploadFile(client: GatewayClient, io: CliIo, path: string): Promise<string> {
  const file = resolve(io.cwd, path);
  const info = await stat(file).catch((err: Error) => {
    throw new UsageError(`cannot read ${path}: ${err.message}`);
  });
  if (!info.isFile()) throw new UsageError(`${path} is not a file`);
  const body = withProgress(io, basename(file), createReadStream(file) as AsyncIterable<Buffer>, info.size);
  return (await client.uploadArtifact(body, info.size, mediaTypeOf(file))).key;
}

/** Streams the artifact `key` into `file` (`-`: stdout); returns the bytes written. */
export async function downloadTo(client: GatewayClient, io: CliIo, key: string, file: string): Promise<number> {
  const res = await client.downloadArtifact(key);
  let bytes = 0;
  const counted = async function* (source: AsyncIterable<Uint8Array>) {
    for await (const chunk of source) {
      bytes += chunk.length;
      yield chunk;
    }
  };
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  if (file === '-') {
    await pipeline(body, counted, io.stdout);
    return bytes;
  }
  const target = resolve(io.cwd, file);
  await mkdir(dirname(target), { recursive: true });
  await pipeline(body, counted, createWriteStream(target));
  return bytes;
}

/** Parses `--file field=path` flags: field (a top-level input field, or a dotted path) → local file. */
export function fileFlags(pairs: string[]): Array<{ field: string; path: string }> {
  return pairs.map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0 || at === pair.length - 1) throw new UsageError(`--file expects field=path, got ${JSON.stringify(pair)}`);
    return { field: pair.slice(0, at), path: pair.slice(at + 1) };
  });
}

/** Sets `value` at the dotted `field` of `input` (an object, created when absent). */
export function setField(input: unknown, field: string, value: string): Record<string, unknown> {
  const root = (input && typeof input === 'object' && !Array.isArray(input) ? input : {}) as Record<string, unknown>;
  const parts = field.split('.');
  let at = root;
  for (const part of parts.slice(0, -1)) {
    const next = at[part];
    const child = (next && typeof next === 'object' && !Array.isArray(next) ? next : {}) as Record<string, unknown>;
    at[part] = child;
    at = child;
  }
  at[parts.at(-1)!] = value;
  return root;
}

const MEDIA_KEY = /^[A-Za-z0-9_-][A-Za-z0-9._/-]*\.(mp4|webm|wav|mp3|ogg|png|jpe?g|webp|gif)$/;

/** The artifact keys a run output names (string values that look like media keys), anywhere in it. */
export function artifactKeysIn(output: unknown): string[] {
  const keys = new Set<string>();
  const walk = (v: unknown) => {
    if (typeof v === 'string' && MEDIA_KEY.test(v) && !v.includes('..')) keys.add(v);
    else if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  walk(output);
  return [...keys];
}

/** Downloads every media key in `output` into `dir` (named by the key's last part); returns the files written. */
export async function downloadOutputs(client: GatewayClient, io: CliIo, output: unknown, dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const key of artifactKeysIn(output)) {
    const file = join(dir, basename(key));
    const bytes = await downloadTo(client, io, key, file);
    eprintln(io, `downloaded ${key} to ${file} (${mb(bytes)})`);
    files.push(file);
  }
  return files;
}
