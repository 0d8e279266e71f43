/** `spindle describe NAME`: one function's status, image, URLs, labels and environment. */
import type { Command } from 'commander';
import { println, table, type CliIo } from '../io.ts';
import { CommandContext, withCommon } from './context.ts';

function map(value: Record<string, string> | undefined): string {
  const entries = Object.entries(value ?? {});
  return entries.length ? entries.map(([k, v]) => `\n    ${k}: ${v}`).join('') : ' <none>';
}

/** Adds `spindle describe` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('describe').argument('<name>', 'function name'))
    .description('show one deployed function')
    .option('--json', 'print the gateway\'s JSON')
    .action(async (name: string, flags: { json?: boolean; gateway?: string; yaml: string }) => {
      const ctx = new CommandContext(io, flags);
      const client = await ctx.client();
      const fn = await client.getFunction(name);
      if (flags.json) return println(io, JSON.stringify(fn, null, 2));
      println(
        io,
        table([
          ['Name:', fn.name],
          ['Status:', fn.availableReplicas > 0 ? 'Ready' : 'Not Ready'],
          ['Replicas:', String(fn.replicas)],
          ['Available replicas:', String(fn.availableReplicas)],
          ['Invocations:', String(fn.invocationCount)],
          ['Image:', fn.image],
          ['Namespace:', fn.namespace],
          ['Created:', fn.createdAt ?? ''],
          ['URL:', `${client.url}/function/${fn.name}`],
          ['Async URL:', `${client.url}/async-function/${fn.name}`],
          ['Secrets:', (fn.secrets ?? []).join(', ') || '<none>'],
        ]),
      );
      println(io, `Labels:${map(fn.labels)}`);
      println(io, `Annotations:${map(fn.annotations)}`);
      println(io, `Environment:${map(fn.envVars)}`);
    });
}
