/**
 * Builds the web app once before any test runs (or finds the cached build of unchanged sources), so every
 * `spindle start` the tests make serves /ui at once instead of several racing to build it on two cores.
 * A failed build is reported here and again by the tests that need the app.
 */
import { ensureWebApp } from '../cli/src/web-app.ts';

export default async function setup(): Promise<void> {
  const result = await ensureWebApp();
  if ('dir' in result) {
    if (result.built) console.log(`web app built in ${(result.ms / 1000).toFixed(1)} s (${result.dir})`);
  } else console.warn(`web app not built: ${'failed' in result ? `${result.failed}\n${result.output}` : result.missing}`);
}
