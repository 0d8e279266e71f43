/** `spindle list`: deployed functions as a table (or JSON). */
import type { Command } from 'commander';
import { println, shortDigest, table, type CliIo } from '../io.ts';
import { CommandContext, withCommon } from './context.ts';

/** Adds `spindle list` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('list').alias('ls'))
    .description('list deployed functions')
    .option('-v, --verbose', 'show available replicas, creation time and the full image')
    .option('--json', 'print the gateway\'s JSON')
    .action(async (flags: { verbose?: boolean; json?: boolean; gateway?: string; yaml: string }) => {
      const ctx = new CommandContext(io, flags);
      const functions = await (await ctx.client()).listFunctions();
      if (flags.json) return println(io, JSON.stringify(functions, null, 2));
      const sorted = [...functions].sort((a, b) => a.name.localeCompare(b.name));
      const rows = flags.verbose
        ? [
            ['NAME', 'INVOCATIONS', 'REPLICAS', 'AVAILABLE', 'CREATED', 'IMAGE'],
            ...sorted.map((f) => [f.name, String(f.invocationCount), String(f.replicas), String(f.availableReplicas), f.createdAt ?? '', f.image]),
          ]
        : [['NAME', 'INVOCATIONS', 'REPLICAS', 'IMAGE'], ...sorted.map((f) => [f.name, String(f.invocationCount), String(f.replicas), shortDigest(f.image.replace(/^bundle:\/\//, ''))])];
      println(io, table(rows));
    });
}
