/** `spindle up [--filter NAME] [--watch]`: build, deploy, and with --watch redeploy on every save. */
import type { Command } from 'commander';
import { isBuildable } from '../build.ts';
import { CliError } from '../errors.ts';
import { loadGraphs } from '../graphs.ts';
import { eprintln, println, shortDigest, type CliIo } from '../io.ts';
import { selectFunctions } from '../stack.ts';
import { watchFunctions } from '../watch.ts';
import { runBuild } from './build.ts';
import { CommandContext, withCommon } from './context.ts';
import { runDeploy } from './deploy.ts';

/** Adds `spindle up` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('up'))
    .description('build and deploy; --watch rebuilds and redeploys a function when its files change')
    .option('--filter <name>', 'only functions matching this name (* is a wildcard)')
    .option('--watch', 'keep running: redeploy changed functions until Ctrl-C')
    .action(async (flags: { filter?: string; watch?: boolean; gateway?: string; yaml: string }) => {
      const ctx = new CommandContext(io, flags);
      const stack = await ctx.loadStack();
      // A stack whose graphs cannot be deployed is refused before the build (runDeploy checks again, with the gateway).
      if (!flags.filter) await loadGraphs(stack);
      await runBuild(ctx, stack, flags.filter);
      const results = await runDeploy(ctx, stack, flags.filter);
      if (!flags.watch) return;
      const entries = selectFunctions(stack, flags.filter).filter(isBuildable);
      const watcher = watchFunctions({
        stack,
        entries,
        dataDir: ctx.dataDir,
        client: await ctx.client(),
        deployed: new Map(results.map((r) => [r.name, r.digest])),
        onRedeploy: (e) => println(io, `${e.name}  redeployed ${shortDigest(e.digest)} in ${e.ms} ms`),
        onError: (name, err) => eprintln(io, `error: ${name}: ${err instanceof CliError ? err.message : String(err)}`),
      });
      await watcher.ready;
      println(io, `watching ${entries.length} function${entries.length === 1 ? '' : 's'} for changes (Ctrl-C to stop)`);
      await new Promise<void>((resolve) => {
        const off = io.onInterrupt(() => {
          off();
          resolve();
        });
      });
      await watcher.close();
    });
}
