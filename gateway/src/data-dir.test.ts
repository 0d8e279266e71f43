import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOrCreatePrivate } from './data-dir.ts';

describe('readOrCreatePrivate', () => {
  it('makes the file once (0600), whole; racing callers all read the same value and leave no temporary files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spindle-private-'));
    const file = join(dir, 'key');
    let made = 0;
    const values = await Promise.all(Array.from({ length: 8 }, () => readOrCreatePrivate(file, () => `value-${++made}`)));
    expect(new Set(values).size).toBe(1);
    expect((await readFile(file, 'utf8')).trim()).toBe(values[0]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['key']);
    expect(await readOrCreatePrivate(file, () => 'other')).toBe(values[0]);
  });

  it('refuses an empty file, naming it, instead of using "" as a key or password', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spindle-private-'));
    const file = join(dir, 'admin-password');
    await writeFile(file, '\n', { mode: 0o600 });
    await expect(readOrCreatePrivate(file, () => 'new')).rejects.toThrow(`${file} is empty: remove it and start again`);
  });
});
