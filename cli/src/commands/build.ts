/** `spindle build [--filter NAME]`: bundle each control function into `.spindle/build/NAME/bundle.mjs`. */
import type { Command } from 'commander';
import { buildFunctions, isBuildable, type BuildResult } from '../build.ts';
import { eprintln, println, withSpinner, type CliIo } from '../io.ts';
import { selectFunctions, type LoadedStack } from '../stack.ts';
import { CommandContext, withCommon } from './context.ts';

/** One line per function: `echo  built sha256:… 12.3 KiB in 40 ms` or `echo  unchanged sha256:…`. */
export function describeBuild(r: BuildResult): string {
  return r.built
    ? `${r.name}  built ${r.digest} (${(r.size / 1024).toFixed(1)} KiB) in ${r.ms} ms`
    : `${r.name}  unchanged ${r.digest}`;
}

/** Tells which selected functions the CLI leaves alone (GPU functions run in the GPU runner). */
export function reportSkipped(io: CliIo, stack: LoadedStack, filter?: string): void {
  for (const entry of selectFunctions(stack, filter).filter((e) => !isBuildable(e))) {
    eprintln(io, `${entry.name}  skipped: lang ${entry.spec.lang} functions are not built by the CLI yet`);
  }
}

/** Builds with a spinner, printing each result and warning; used by build, deploy and up. */
export async function runBuild(ctx: CommandContext, stack: LoadedStack, filter?: string, force?: boolean): Promise<BuildResult[]> {
  reportSkipped(ctx.io, stack, filter);
  return withSpinner(ctx.io, 'building', () =>
    buildFunctions(stack, {
      dataDir: ctx.dataDir,
      filter,
      force,
      onResult(result) {
        for (const w of result.warnings) eprintln(ctx.io, `warning: ${result.name}: ${w}`);
        println(ctx.io, describeBuild(result));
      },
    }),
  );
}

/** Adds `spindle build` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('build'))
    .description('bundle functions with esbuild (unchanged functions are skipped)')
    .option('--filter <name>', 'only functions matching this name (* is a wildcard)')
    .option('--force', 'rebuild even when nothing changed')
    .action(async (flags: { filter?: string; force?: boolean; gateway?: string; yaml: string }) => {
      const ctx = new CommandContext(io, flags);
      await runBuild(ctx, await ctx.loadStack(), flags.filter, flags.force);
    });
}
