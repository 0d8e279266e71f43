/**
 * `spindle start` keeps the gateway inside the CLI's process for as long as the platform runs, so that process
 * runs the CLI built into plain JavaScript (gateway included) on node alone: no tsx loader thread, transform
 * cache or esbuild service in it (~80 MB of the gateway's RSS). bin/spindle.mjs runs this file as a short-lived
 * child through tsx with the arguments after `start`; it prints the built file's path on stdout (an unchanged tree
 * is not rebuilt), or nothing when there is no stack file, so the CLI reports that from source as usual.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { CommandContext, withCommon, type CommonFlags } from './commands/context.ts';
import { eprintln, processIo } from './io.ts';
import { bundleProcess, stopBundler } from './process-bundle.ts';

/** The CLI's entry point, built into `<dataDir>/build/_spindle/spindle.mjs`. */
const CLI_BUNDLE = { name: 'spindle', entries: { spindle: fileURLToPath(new URL('./main.ts', import.meta.url)) } };

/** Builds the CLI for `spindle start <args>` into its data dir; returns the built file, or undefined when there is no stack file. */
async function bundleSelf(args: string[]): Promise<string | undefined> {
  const io = processIo();
  // The same -f/--yaml (and $SPINDLE_DATA_DIR) rules as the command itself: its data dir is where this goes.
  // Everything else (--help included) is the command's business once it runs.
  const parsed = withCommon(new Command()).helpOption(false).allowUnknownOption().allowExcessArguments().exitOverride().parse(args, { from: 'user' });
  const ctx = new CommandContext(io, parsed.opts<CommonFlags>());
  if (!existsSync(ctx.stackFile)) return undefined;
  const built = await bundleProcess({ ...CLI_BUNDLE, outDir: path.join(ctx.dataDir, 'build', '_spindle') });
  await stopBundler();
  eprintln(io, `spindle  ${built.built ? `built in ${built.ms} ms` : 'unchanged'}`);
  return built.files.spindle;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = await bundleSelf(process.argv.slice(2));
  if (file) process.stdout.write(`${file}\n`);
}
