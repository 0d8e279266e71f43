/** `spindle scale NAME --replicas N`. */
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { println, type CliIo } from '../io.ts';
import { CommandContext, withCommon } from './context.ts';

/** Adds `spindle scale` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('scale').argument('<name>', 'function name'))
    .description('set the number of replicas of a function')
    .requiredOption('-r, --replicas <n>', 'desired replicas (0 or more)')
    .action(async (name: string, flags: { replicas: string; gateway?: string; yaml: string }) => {
      if (!/^\d+$/.test(flags.replicas)) throw new UsageError(`--replicas must be a whole number, got ${JSON.stringify(flags.replicas)}`);
      const ctx = new CommandContext(io, flags);
      await (await ctx.client()).scaleFunction(name, Number(flags.replicas));
      println(io, `scaled ${name} to ${flags.replicas} replica${flags.replicas === '1' ? '' : 's'}`);
    });
}
