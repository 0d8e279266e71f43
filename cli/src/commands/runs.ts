/** `spindle runs [--graph G] [--status S] [--limit N]`: recent runs, newest first. */
import type { Command } from 'commander';
import { listRuns } from '../graphs.ts';
import { println, type CliIo } from '../io.ts';
import { CommandContext, withCommon } from './context.ts';

function duration(start: string | null, end: string | null): string {
  if (!start || !end) return '-';
  const ms = new Date(end).getTime() - new Date(start).getTime();
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Adds `spindle runs` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('runs'))
    .description('list graph runs, newest first')
    .option('--graph <name>', 'only runs of this graph')
    .option('--status <status>', 'queued, running, succeeded, failed or cancelled')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print JSON')
    .action(async (flags: { graph?: string; status?: string; limit: string; json?: boolean; gateway?: string; yaml: string }) => {
      const ctx = new CommandContext(io, flags);
      const page = await listRuns(await ctx.client(), { graph: flags.graph, status: flags.status, limit: Number(flags.limit) });
      if (flags.json) return println(io, JSON.stringify(page, null, 2));
      println(io, `${'RUN'.padEnd(38)}${'GRAPH'.padEnd(16)}${'STATUS'.padEnd(11)}${'STARTED'.padEnd(26)}DURATION`);
      for (const r of page.runs) {
        println(io, `${r.runId.padEnd(38)}${r.graph.padEnd(16)}${r.status.padEnd(11)}${String(r.startedAt ?? '-').padEnd(26)}${duration(r.startedAt, r.finishedAt)}`);
      }
    });
}
