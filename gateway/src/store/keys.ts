/** What every BlobStore shares, so a key and a size mean the same thing on disk and in S3. */
import { Transform } from 'node:stream';
import { BadRequestError } from '../errors.ts';

const MAX_KEY_LENGTH = 1024; // S3's limit on object names, in bytes

/**
 * Throws BadRequestError unless `key` is a relative, slash-separated path that cannot leave the store's
 * root: no `..` or `.` segment, no leading `/`, no backslash, no empty segment, no NUL.
 */
export function assertKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== null) throw new BadRequestError(`invalid blob key ${JSON.stringify(key)}: ${problem}`);
}

function keyProblem(key: string): string | null {
  if (typeof key !== 'string' || key.length === 0) return 'it is empty';
  if (Buffer.byteLength(key) > MAX_KEY_LENGTH) return `it is longer than ${MAX_KEY_LENGTH} bytes`;
  if (key.includes('\0')) return 'it contains NUL';
  if (key.includes('\\')) return 'it contains a backslash';
  if (key.startsWith('/')) return 'it is absolute';
  for (const segment of key.split('/')) {
    if (segment === '') return 'it has an empty segment';
    // `.` would make two keys name one file on disk but two objects in S3.
    if (segment === '..' || segment === '.') return `it has a "${segment}" segment`;
  }
  return null;
}

/** A pass-through stream that fails unless exactly `size` bytes go through it, so a short upload is never stored. */
export function expectSize(key: string, size: number): Transform {
  let seen = 0;
  const mismatch = () => new BadRequestError(`blob ${JSON.stringify(key)}: expected ${size} bytes, got ${seen}`);
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      done(seen > size ? mismatch() : null, chunk);
    },
    flush(done) {
      done(seen === size ? null : mismatch());
    },
  });
}
