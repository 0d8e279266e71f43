/** `spindle logs NAME [--follow] [--tail N] [--since 5m|RFC3339]`: `timestamp instance text` lines. */
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { reconnectingLine } from '../follow.ts';
import { eprintln, println, type CliIo } from '../io.ts';
import { CommandContext, withCommon } from './context.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `5m`, `1h30m`, `90s` → that long before `now`; an RFC 3339 time as it is. Returns RFC 3339. */
export function parseSince(value: string, now = Date.now()): string {
  if (/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(value)) {
    let ms = 0;
    for (const [, n, , unit] of value.matchAll(/(\d+(\.\d+)?)(ms|s|m|h|d)/g)) ms += Number(n) * UNIT_MS[unit!]!;
    return new Date(now - ms).toISOString();
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  throw new UsageError(`--since expects a duration like 5m or 1h30m, or an RFC 3339 time like 2025-01-31T12:00:00Z; got ${JSON.stringify(value)}`);
}

/** Adds `spindle logs` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('logs').argument('<name>', 'function name'))
    .description('print a function\'s logs')
    .option('--follow', 'keep streaming new lines until Ctrl-C (reconnecting, without losing a line, when the connection drops)')
    .option('--tail <n>', 'only the last N lines')
    .option('--since <when>', 'only lines newer than a duration (5m) or an RFC 3339 time')
    .action(async (name: string, flags: { follow?: boolean; tail?: string; since?: string; gateway?: string; yaml: string }) => {
      if (flags.tail !== undefined && !/^\d+$/.test(flags.tail)) throw new UsageError(`--tail must be a whole number, got ${JSON.stringify(flags.tail)}`);
      const since = flags.since ? parseSince(flags.since) : undefined;
      const ctx = new CommandContext(io, flags);
      const client = await ctx.client();
      const abort = new AbortController();
      const off = io.onInterrupt(() => abort.abort());
      try {
        const query = { name, tail: flags.tail === undefined ? undefined : Number(flags.tail), since, signal: abort.signal };
        const lines = flags.follow ? client.followLogs(query, (r) => eprintln(io, reconnectingLine(r))) : client.logs(query);
        for await (const entry of lines) println(io, `${entry.timestamp} ${entry.instance} ${entry.text.replace(/\r?\n$/, '')}`);
      } catch (err) {
        if (!abort.signal.aborted) throw err;
      } finally {
        off();
      }
    });
}
