/** `spindle deploy [--filter NAME]`: upload missing bundles and deploy the built functions. */
import type { Command } from 'commander';
import { deployFunctions, type DeployResult } from '../deploy.ts';
import { deployedFunctions, deployGraphs, loadGraphs } from '../graphs.ts';
import { println, shortDigest, withSpinner, type CliIo } from '../io.ts';
import type { LoadedStack } from '../stack.ts';
import { CommandContext, withCommon } from './context.ts';

/** `echo  created sha256:0123456789ab (bundle uploaded) in 35 ms`. */
function describeDeploy(r: DeployResult): string {
  const bundle = r.uploaded ? 'bundle uploaded' : 'bundle already present';
  return `${r.name}  ${r.action} ${shortDigest(r.digest)} (${bundle}) in ${r.ms} ms`;
}

/** Deploys with a spinner and prints one line per function and where to call it. */
export async function runDeploy(ctx: CommandContext, stack: LoadedStack, filter?: string): Promise<DeployResult[]> {
  const client = await ctx.client();
  // Graphs are checked before any function goes out (a filtered deploy leaves them alone), so a cycle or
  // a function nobody deploys stops the deploy instead of surfacing halfway through it.
  const graphs = filter ? [] : await loadGraphs(stack, { deployed: () => deployedFunctions(client) });
  const results = await withSpinner(ctx.io, `deploying to ${client.url}`, () =>
    deployFunctions(client, stack, { dataDir: ctx.dataDir, filter, onResult: (r) => println(ctx.io, describeDeploy(r)) }),
  );
  for (const r of results) println(ctx.io, `  ${client.url}/function/${r.name}`);
  // Graphs go after the functions they name.
  await deployGraphs(client, graphs, (name, version) => println(ctx.io, `graph ${name}  deployed (version ${version})`));
  return results;
}

/** Adds `spindle deploy` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('deploy'))
    .description('deploy built functions to the gateway')
    .option('--filter <name>', 'only functions matching this name (* is a wildcard)')
    .action(async (flags: { filter?: string; gateway?: string; yaml: string }) => {
      const ctx = new CommandContext(io, flags);
      await runDeploy(ctx, await ctx.loadStack(), flags.filter);
    });
}
