/** Component tests of the web app (the schema form, the DAG layout): Svelte compiled for the browser, run in jsdom. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineProject } from 'vitest/config';

// tsconfig.json extends SvelteKit's generated one; on a fresh checkout nothing has generated it yet.
if (!existsSync(join(import.meta.dirname, '.svelte-kit', 'tsconfig.json'))) {
  const kit = join(createRequire(import.meta.url).resolve('@sveltejs/kit/package.json'), '..', 'svelte-kit.js');
  execFileSync(process.execPath, [kit, 'sync'], { cwd: import.meta.dirname, stdio: 'ignore' });
}

export default defineProject({
  plugins: [svelte({ configFile: false })],
  // Svelte's browser build: mount() is not available in its server build.
  resolve: { conditions: ['browser'] },
  test: { name: 'web', root: import.meta.dirname, include: ['src/**/*.test.ts'], environment: 'jsdom' },
});
