import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../testing/fake-gateway.ts';
import { readInput } from './run.ts';

describe('spindle run input', () => {
  it('takes --input as a file (relative to the working folder), - for stdin, or inline JSON; --data as JSON', async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'spindle-run-input-'));
    await writeFile(path.join(cwd, 'input.json'), '{"name":"File"}');
    expect(await readInput(memoryIo({ cwd }).io, 'input.json', undefined)).toEqual({ name: 'File' });
    expect(await readInput(memoryIo({ cwd, stdin: '{"name":"Stdin"}' }).io, '-', undefined)).toEqual({ name: 'Stdin' });
    // What the stack.yml comment shows: `--input '{"name":"Ada"}'`.
    expect(await readInput(memoryIo({ cwd }).io, '{"name":"Ada"}', undefined)).toEqual({ name: 'Ada' });
    expect(await readInput(memoryIo({ cwd }).io, ' [1, 2]', undefined)).toEqual([1, 2]);
    expect(await readInput(memoryIo({ cwd }).io, undefined, '{"name":"Data"}')).toEqual({ name: 'Data' });
    expect(await readInput(memoryIo({ cwd }).io, undefined, undefined)).toBeUndefined();
  });

  it('says what --input takes when the file is missing, and names bad JSON', async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'spindle-run-input-'));
    await expect(readInput(memoryIo({ cwd }).io, 'missing.json', undefined)).rejects.toThrow(/cannot read --input missing\.json: .*ENOENT.*inline JSON/);
    await expect(readInput(memoryIo({ cwd }).io, '{"name":', undefined)).rejects.toThrow(/the run input is not valid JSON/);
  });
});
