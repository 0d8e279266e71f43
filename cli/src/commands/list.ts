/** `spindle list`: deployed functions as a table (or JSON). */
import type { Command } from 'commander';
import type { FunctionStatus } from '@spindle/schemas';
import { println, shortDigest, table, type CliIo } from '../io.ts';
import { CommandContext, withCommon } from './context.ts';

/**
 * Replica columns of one function: desired and available replicas; a GPU function has none (it lives in
 * the GPU runner) and shows the jobs queued or running for it instead.
 */
function counts(f: FunctionStatus): [string, string, string] {
  if (f.queueDepth !== undefined) return ['-', '-', String(f.queueDepth)];
  return [String(f.replicas), String(f.availableReplicas), '-'];
}

/** Adds `spindle list` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('list').alias('ls'))
    .description('list deployed functions: replicas wanted and available (GPU functions: jobs queued)')
    .option('-v, --verbose', 'show creation time and the full image')
    .option('--json', 'print the gateway\'s JSON')
    .action(async (flags: { verbose?: boolean; json?: boolean; gateway?: string; yaml: string }) => {
      const ctx = new CommandContext(io, flags);
      const functions = await (await ctx.client()).listFunctions();
      if (flags.json) return println(io, JSON.stringify(functions, null, 2));
      const sorted = [...functions].sort((a, b) => a.name.localeCompare(b.name));
      const rows = flags.verbose
        ? [
            ['NAME', 'INVOCATIONS', 'REPLICAS', 'AVAILABLE', 'QUEUE', 'CREATED', 'IMAGE'],
            ...sorted.map((f) => [f.name, String(f.invocationCount), ...counts(f), f.createdAt ?? '', f.image]),
          ]
        : [
            ['NAME', 'INVOCATIONS', 'REPLICAS', 'AVAILABLE', 'QUEUE', 'IMAGE'],
            ...sorted.map((f) => [f.name, String(f.invocationCount), ...counts(f), shortDigest(f.image.replace(/^bundle:\/\//, ''))]),
          ];
      println(io, table(rows));
    });
}
