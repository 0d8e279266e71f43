/** One contract for every BlobStore, run against a folder and against S3 (a real s3rver, through the minio client). */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BadRequestError } from '../errors.ts';
import { FolderBlobStore } from './folder.ts';
import { S3BlobStore, s3ClientFromUrl } from './s3.ts';
import type { BlobStore } from './types.ts';

/** How a contract run makes stores of one kind: each call gives an empty store of its own. */
type BlobStoreFactory = () => Promise<BlobStore>;

const BAD_KEYS = ['', '/etc/passwd', '..', 'a/../b', '../a', './a', 'a/.', 'a\\b', 'a//b', 'a/', 'a\0b'];

function blobContract(kind: string, create: BlobStoreFactory): void {
  describe(`BlobStore contract: ${kind}`, () => {
    let store: BlobStore;

    beforeEach(async () => {
      store = await create();
      await store.ready();
    });
    afterEach(() => store.close());

    it('puts, gets, checks and deletes', async () => {
      const bytes = randomBytes(1000);
      await store.put('bundles/sha256/abc', bytes);
      expect(await store.get('bundles/sha256/abc')).toEqual(bytes);
      expect(await store.has('bundles/sha256/abc')).toBe(true);
      await store.delete('bundles/sha256/abc');
      expect(await store.has('bundles/sha256/abc')).toBe(false);
      expect(await store.get('bundles/sha256/abc')).toBeNull();
    });

    it('answers null and false for a missing key, and deleting one is not an error', async () => {
      expect(await store.get('missing/key')).toBeNull();
      expect(await store.has('missing/key')).toBe(false);
      await store.delete('missing/key');
      // A key that is a prefix of another is still missing.
      await store.put('dir/file', Buffer.from('x'));
      expect(await store.get('dir')).toBeNull();
      expect(await store.has('dir')).toBe(false);
    });

    it('overwrites, and keeps empty blobs apart from missing ones', async () => {
      await store.put('k', Buffer.from('first'));
      await store.put('k', Buffer.from('second'));
      expect((await store.get('k'))?.toString()).toBe('second');
      await store.put('empty', Buffer.alloc(0));
      expect(await store.get('empty')).toEqual(Buffer.alloc(0));
      expect(await store.has('empty')).toBe(true);
    });

    it('puts streams, with and without a size', async () => {
      const chunks = Array.from({ length: 40 }, () => randomBytes(64 * 1024));
      const whole = Buffer.concat(chunks);
      await store.put('stream/sized', Readable.from(chunks), whole.length);
      await store.put('stream/unsized', Readable.from(chunks));
      // Buffer.equals: vitest's toEqual walks megabytes byte by byte, for seconds.
      expect((await store.get('stream/sized'))?.equals(whole)).toBe(true);
      expect((await store.get('stream/unsized'))?.equals(whole)).toBe(true);
    });

    it('keeps the old bytes when a streamed put fails midway', async () => {
      await store.put('k', Buffer.from('old'));
      async function* failing() {
        yield randomBytes(1024);
        throw new Error('client went away');
      }
      await expect(store.put('k', Readable.from(failing()))).rejects.toThrow('client went away');
      await expect(store.put('k', Readable.from(failing()), 4096)).rejects.toThrow('client went away');
      expect((await store.get('k'))?.toString()).toBe('old');
    });

    it('refuses a stream whose length is not the size given, and keeps the old bytes', async () => {
      await store.put('k', Buffer.from('old'));
      await expect(store.put('k', Readable.from([Buffer.from('abc')]), 5)).rejects.toThrow('expected 5 bytes, got 3');
      await expect(store.put('k', Readable.from([Buffer.from('abcdefg')]), 5)).rejects.toThrow(BadRequestError);
      expect((await store.get('k'))?.toString()).toBe('old');
    });

    it('gives sizes and streams, whole or a byte range, without reading the rest', async () => {
      const bytes = randomBytes(300_000);
      await store.put('media/clip.mp4', bytes);
      expect(await store.size('media/clip.mp4')).toBe(bytes.length);
      expect(await store.size('media/missing.mp4')).toBeNull();
      expect(await store.stream('media/missing.mp4')).toBeNull();
      const read = async (s: Readable | null) => {
        const parts: Buffer[] = [];
        for await (const c of s!) parts.push(c as Buffer);
        return Buffer.concat(parts);
      };
      expect((await read(await store.stream('media/clip.mp4'))).equals(bytes)).toBe(true);
      expect((await read(await store.stream('media/clip.mp4', { start: 1000, end: 1999 }))).equals(bytes.subarray(1000, 2000))).toBe(true);
      expect((await read(await store.stream('media/clip.mp4', { start: bytes.length - 1, end: bytes.length - 1 }))).equals(bytes.subarray(-1))).toBe(true);
      await store.put('media/empty', Buffer.alloc(0));
      expect(await store.size('media/empty')).toBe(0);
    });

    it('rejects bad keys in every method, naming the key', async () => {
      for (const key of BAD_KEYS) {
        const named = new RegExp(`invalid blob key ${escapeRegExp(JSON.stringify(key))}`);
        await expect(store.put(key, Buffer.from('x'))).rejects.toThrow(named);
        await expect(store.get(key)).rejects.toBeInstanceOf(BadRequestError);
        await expect(store.has(key)).rejects.toBeInstanceOf(BadRequestError);
        await expect(store.delete(key)).rejects.toBeInstanceOf(BadRequestError);
        await expect(store.size(key)).rejects.toBeInstanceOf(BadRequestError);
        await expect(store.stream(key)).rejects.toBeInstanceOf(BadRequestError);
      }
    });

    it('ready() and close() may be called twice', async () => {
      await store.ready();
      await store.close();
      await store.close();
    });
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---- folder ----

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'spindle-blobs-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

blobContract('FolderBlobStore', async () => new FolderBlobStore(await mkdtemp(join(workDir, 'folder-'))));

describe('FolderBlobStore', () => {
  it('leaves no temporary files behind, even when a put fails', async () => {
    const root = await mkdtemp(join(workDir, 'folder-'));
    const store = new FolderBlobStore(root);
    await store.put('a/b', Buffer.from('x'));
    await expect(store.put('a/c', Readable.from([Buffer.from('abc')]), 5)).rejects.toThrow('expected 5 bytes, got 3');
    expect(await readdir(join(root, 'a'))).toEqual(['b']);
  });
});

// ---- S3, against a real s3rver ----

/** The little of s3rver's (untyped) API the test uses. */
interface S3rverServer {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: { address: string; port: number; directory: string; silent: boolean }) => S3rverServer;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;

let s3rver: S3rverServer;
let endpoint: string;
beforeAll(async () => {
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, directory: await mkdtemp(join(workDir, 's3rver-')), silent: true });
  const { port } = await s3rver.run();
  endpoint = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await s3rver?.close();
});

// A bucket per test, made by ready(): the test of bucket creation comes for free.
blobContract('S3BlobStore', async () => {
  const client = s3ClientFromUrl(endpoint, 'S3RVER', 'S3RVER');
  return new S3BlobStore({ client, bucket: `spindle-test-${randomBytes(6).toString('hex')}` });
});

describe('s3ClientFromUrl', () => {
  it('refuses endpoints it cannot use', () => {
    expect(() => s3ClientFromUrl('ftp://host', 'a', 'b')).toThrow(/http/);
    expect(() => s3ClientFromUrl('http://host:9000/bucket', 'a', 'b')).toThrow(/path/);
  });
});
