/** BlobStore on S3 or MinIO, through the `minio` client. */
import { createRequire } from 'node:module';
import { Readable, pipeline } from 'node:stream';
// Types only: minio (~20 MB once loaded) is required when a client is built, not by every gateway (most use a folder).
import type * as Minio from 'minio';
import { assertKey, expectSize } from './keys.ts';
import type { BlobStore, ByteRange } from './types.ts';

/** minio's default part size: a stream of unknown size no longer than this is sent in one PUT. */
const SINGLE_PUT_LIMIT = 64 * 1024 * 1024;

/** What S3BlobStore needs: a client built once per process by the wiring point, and a bucket. */
export interface S3BlobStoreOptions {
  client: Minio.Client;
  bucket: string;
  /** Region to create the bucket in when it is missing (the client's region, or us-east-1, otherwise). */
  region?: string;
}

/** Stores each blob as the object `<bucket>/<key>`. */
export class S3BlobStore implements BlobStore {
  readonly bucket: string;
  readonly #client: Minio.Client;
  readonly #region: string | undefined;

  constructor(options: S3BlobStoreOptions) {
    this.#client = options.client;
    this.bucket = options.bucket;
    this.#region = options.region;
  }

  /** Creates the bucket when it is missing. */
  async ready(): Promise<void> {
    if (await this.#client.bucketExists(this.bucket)) return;
    try {
      await this.#client.makeBucket(this.bucket, this.#region);
    } catch (err) {
      // Another gateway created it between our check and our create: that is what we wanted.
      if (codeOf(err) !== 'BucketAlreadyOwnedByYou') throw err;
    }
  }

  /** Uploads `data`; a stream of unknown size up to 64 MiB goes up as one PUT, a longer one in parts. */
  async put(key: string, data: Buffer | Readable, size?: number): Promise<void> {
    assertKey(key);
    if (Buffer.isBuffer(data)) {
      await this.#client.putObject(this.bucket, key, data, data.length);
      return;
    }
    if (size !== undefined) {
      // minio trusts `size` and would store a short stream as a short object; the check makes it fail instead.
      // pipeline, not pipe: a source that fails must fail the upload, not leave minio waiting for the end.
      const checked = pipeline(data, expectSize(key, size), () => {});
      await this.#client.putObject(this.bucket, key, checked, size);
      return;
    }
    // minio sends any stream of unknown size as a multipart upload, which starts by listing incomplete
    // uploads: an extra round trip, and a call s3rver does not implement. Reading up to one part first
    // costs no more memory than minio's own part buffer, and most blobs (bundles) fit in it.
    const chunks = data[Symbol.asyncIterator]();
    try {
      const head: Buffer[] = [];
      let length = 0;
      while (length <= SINGLE_PUT_LIMIT) {
        const next = await chunks.next();
        if (next.done === true) {
          await this.#client.putObject(this.bucket, key, Buffer.concat(head, length), length);
          return;
        }
        const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as string);
        head.push(chunk);
        length += chunk.length;
      }
      const replay = Readable.from(
        (async function* () {
          yield* head;
          for (let next = await chunks.next(); next.done !== true; next = await chunks.next()) yield next.value as Buffer;
        })(),
      );
      await this.#client.putObject(this.bucket, key, replay);
    } finally {
      await chunks.return?.(); // destroys the source when the upload failed before reading it all
    }
  }

  /** The object's bytes, or null when there is no such key. */
  async get(key: string): Promise<Buffer | null> {
    assertKey(key);
    let body: Readable;
    try {
      body = await this.#client.getObject(this.bucket, key);
    } catch (err) {
      if (codeOf(err) === 'NoSuchKey') return null;
      throw err;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** Whether an object exists under `key`. */
  async has(key: string): Promise<boolean> {
    assertKey(key);
    try {
      await this.#client.statObject(this.bucket, key);
      return true;
    } catch (err) {
      // A HEAD answer has no body, so a missing object surfaces as NotFound rather than NoSuchKey.
      if (codeOf(err) === 'NotFound' || codeOf(err) === 'NoSuchKey') return false;
      throw err;
    }
  }

  /** The object's size, or null when there is no such key. */
  async size(key: string): Promise<number | null> {
    assertKey(key);
    try {
      return (await this.#client.statObject(this.bucket, key)).size;
    } catch (err) {
      if (codeOf(err) === 'NotFound' || codeOf(err) === 'NoSuchKey') return null;
      throw err;
    }
  }

  /** The object's body as it arrives (a ranged GET for `range`), or null when there is no such key. */
  async stream(key: string, range?: ByteRange): Promise<Readable | null> {
    assertKey(key);
    try {
      return range ? await this.#client.getPartialObject(this.bucket, key, range.start, range.end - range.start + 1) : await this.#client.getObject(this.bucket, key);
    } catch (err) {
      if (codeOf(err) === 'NoSuchKey') return null;
      throw err;
    }
  }

  /** Removes the object; S3 treats removing a missing key as success. */
  async delete(key: string): Promise<void> {
    assertKey(key);
    await this.#client.removeObject(this.bucket, key);
  }

  /** The client belongs to the caller, so there is nothing to release here. */
  async close(): Promise<void> {}
}

/**
 * Builds a minio Client from an endpoint URL such as `http://127.0.0.1:9000`.
 * @example const store = new S3BlobStore({ client: s3ClientFromUrl('http://127.0.0.1:9000', 'minio', 'minio123'), bucket: 'spindle' });
 */
export function s3ClientFromUrl(endpointUrl: string, accessKey: string, secretKey: string, region?: string): Minio.Client {
  const url = new URL(endpointUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`S3 endpoint ${endpointUrl} must start with http:// or https://`);
  }
  if (url.pathname !== '/' && url.pathname !== '') {
    throw new Error(`S3 endpoint ${endpointUrl} must not have a path; name the bucket separately`);
  }
  const useSSL = url.protocol === 'https:';
  const { Client } = createRequire(import.meta.url)('minio') as typeof Minio;
  return new Client({
    endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'), // minio wants a bare IPv6 address
    port: url.port === '' ? (useSSL ? 443 : 80) : Number(url.port),
    useSSL,
    accessKey,
    secretKey,
    ...(region === undefined ? {} : { region }),
  });
}

function codeOf(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}
