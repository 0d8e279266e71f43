/** The README's examples are the real files, so they cannot drift. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './harness.ts';

it('README shows functions/greet/handler.ts as it is', async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const block = /```ts\n\/\/ functions\/greet\/handler\.ts\n([\s\S]*?)```/.exec(readme);
  expect(block, 'README has the greet example').not.toBeNull();
  expect(block![1]).toBe(await readFile(join(ROOT, 'functions', 'greet', 'handler.ts'), 'utf8'));
});

it('README quickstart is exactly the two set-up commands', async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const quickstart = readme.slice(readme.indexOf('## Quickstart'), readme.indexOf('`npm start` starts'));
  expect(quickstart.match(/```sh\n(.*)\n```/g)).toEqual(['```sh\nnpm ci && npm start\n```', '```sh\nnpm test\n```']);
});
