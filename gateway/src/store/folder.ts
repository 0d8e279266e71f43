/** BlobStore on a local folder: the default when no object store is configured. */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PRIVATE_DIR, PRIVATE_FILE } from '../data-dir.ts';
import { assertKey, expectSize } from './keys.ts';
import type { BlobStore, ByteRange } from './types.ts';

/** A missing file, or a path through a file, or a directory where a blob was expected: all mean "no blob". */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/** Stores each blob as the file `<rootDir>/<key>` (owner-only: blobs include async request bodies), written atomically (temp file + rename). */
export class FolderBlobStore implements BlobStore {
  readonly rootDir: string;

  constructor(rootDir: string) {
    this.rootDir = rootDir;
  }

  /** Creates the root folder. */
  async ready(): Promise<void> {
    await mkdir(this.rootDir, { recursive: true, mode: PRIVATE_DIR });
  }

  /** Writes `data` under `key`; readers see the old bytes or the new ones, never a partial file. */
  async put(key: string, data: Buffer | Readable, size?: number): Promise<void> {
    const path = this.#path(key);
    await mkdir(dirname(path), { recursive: true, mode: PRIVATE_DIR });
    // Same folder as the target, so the rename stays on one filesystem and is atomic.
    const temp = `${path}.${randomUUID()}.tmp`;
    try {
      if (Buffer.isBuffer(data)) await writeFile(temp, data, { mode: PRIVATE_FILE });
      else if (size === undefined) await pipeline(data, createWriteStream(temp, { mode: PRIVATE_FILE }));
      else await pipeline(data, expectSize(key, size), createWriteStream(temp, { mode: PRIVATE_FILE }));
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  /** The bytes under `key`, or null. */
  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.#path(key));
    } catch (err) {
      if (isAbsent(err)) return null;
      throw err;
    }
  }

  /** Whether a blob exists under `key`. */
  async has(key: string): Promise<boolean> {
    try {
      return (await stat(this.#path(key))).isFile();
    } catch (err) {
      if (isAbsent(err)) return false;
      throw err;
    }
  }

  /** The file's size, or null. */
  async size(key: string): Promise<number | null> {
    try {
      const s = await stat(this.#path(key));
      return s.isFile() ? s.size : null;
    } catch (err) {
      if (isAbsent(err)) return null;
      throw err;
    }
  }

  /** Streams the file (or `range` of it) from an open handle, so a concurrent overwrite (a rename) cannot mix two versions. */
  async stream(key: string, range?: ByteRange): Promise<Readable | null> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.#path(key), 'r');
    } catch (err) {
      if (isAbsent(err)) return null;
      throw err;
    }
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      return null;
    }
    return createReadStream('', { fd: handle, autoClose: true, ...(range && { start: range.start, end: range.end }) });
  }

  /** Removes the blob; removing a missing key is not an error (as in S3). */
  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    if (await this.has(key)) await rm(path, { force: true });
  }

  /** Nothing to release; present for the BlobStore contract. */
  async close(): Promise<void> {}

  #path(key: string): string {
    assertKey(key);
    return join(this.rootDir, ...key.split('/'));
  }
}

function isAbsent(err: unknown): boolean {
  return ABSENT.has((err as NodeJS.ErrnoException).code ?? '');
}
