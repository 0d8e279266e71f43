/** File helpers the build caches share (function bundles, process bundles). */
import { createHash } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';

/** Hex SHA-256 of bytes or text. */
export const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** Writes `file` (mode 0600) through a temp file and a rename, so a reader never sees half of it. */
export async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode: 0o600 });
  await rename(tmp, file);
}
