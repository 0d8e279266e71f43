/** `spindle remove [NAME]` (alias rm): remove one function, or every function of stack.yml. */
import type { Command } from 'commander';
import { println, type CliIo } from '../io.ts';
import { selectFunctions } from '../stack.ts';
import { CommandContext, withCommon } from './context.ts';

/** Adds `spindle remove` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('remove').alias('rm').argument('[name]', 'function name (default: the functions in stack.yml)'))
    .description('remove deployed functions')
    .option('--filter <name>', 'with no NAME: only stack functions matching this name')
    .action(async (name: string | undefined, flags: { filter?: string; gateway?: string; yaml: string }) => {
      const ctx = new CommandContext(io, flags);
      const names = name ? [name] : selectFunctions(await ctx.loadStack(), flags.filter).map((f) => f.name);
      const client = await ctx.client();
      for (const n of names) {
        await client.removeFunction(n);
        println(io, `removed ${n}`);
      }
    });
}
