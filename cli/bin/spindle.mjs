#!/usr/bin/env node
// Commands run the TypeScript sources directly: tsx compiles them on load, so there is no build step for the CLI.
// `spindle start` is the exception: the gateway lives in its process for as long as the platform runs, so it
// runs the CLI built into plain JavaScript (cli/src/self-bundle.ts, cached under the data dir) on node alone.
// SPINDLE_FROM_SOURCE=1 runs it from source like the other commands.
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);

/** The built CLI for `spindle start`, or undefined to run from source (no stack file, or the build failed: said on stderr). */
function builtCli() {
  const tsx = fileURLToPath(import.meta.resolve('tsx/esm'));
  const selfBundle = fileURLToPath(new URL('../src/self-bundle.ts', import.meta.url));
  const child = spawnSync(process.execPath, ['--import', pathToFileURL(tsx).href, selfBundle, ...args.slice(1)], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  const file = child.status === 0 ? child.stdout.trim() : '';
  if (child.status !== 0) process.stderr.write('warning: could not build the CLI for `spindle start`; running it from source\n');
  return file ? pathToFileURL(file).href : undefined;
}

let main = args[0] === 'start' && process.env.SPINDLE_FROM_SOURCE !== '1' ? builtCli() : undefined;
if (!main) {
  const { register } = await import('tsx/esm/api');
  register();
  main = '../src/main.ts';
}
const { runCli } = await import(main);
const code = await runCli(args);
if (code !== 0) process.exit(code);
