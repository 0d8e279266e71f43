/**
 * `spindle run GRAPH [--input FILE|-|JSON] [--data JSON] [--file field=path]... [--follow] [--download DIR]`: upload
 * files as artifacts (their keys go into the input), start a run, show a live line per node, print the output, and
 * download the media it names.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { RunEvent } from '@spindle/schemas';
import { downloadOutputs, fileFlags, setField, uploadFile } from '../artifacts.ts';
import { CliError, UsageError } from '../errors.ts';
import { reconnectingLine } from '../follow.ts';
import { followRun, getGraph, getRun, startRun } from '../graphs.ts';
import { eprintln, println, type CliIo } from '../io.ts';
import { CommandContext, withCommon } from './context.ts';

/**
 * The run input: `--input FILE`, `--input -` (stdin), `--input JSON` (a value that starts with `{` or `[`,
 * as people type it after seeing `--data`), or `--data JSON`; undefined when none is given.
 */
export async function readInput(io: CliIo, source: string | undefined, data: string | undefined): Promise<unknown> {
  let text: string | undefined = data;
  if (source !== undefined && /^\s*[[{]/.test(source)) {
    text = source;
  } else if (source === '-') {
    const chunks: Buffer[] = [];
    for await (const c of io.stdin) chunks.push(Buffer.from(c as Buffer));
    text = Buffer.concat(chunks).toString('utf8');
  } else if (source) {
    text = await readFile(resolve(io.cwd, source), 'utf8').catch((err: Error) => {
      throw new UsageError(`cannot read --input ${source}: ${err.message} (--input takes a JSON file, - for stdin, or inline JSON such as '{"name":"Ada"}')`);
    });
  }
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the run input is not valid JSON: ${(err as Error).message}`);
  }
}

function bar(fraction: number): string {
  const n = Math.round(Math.max(0, Math.min(1, fraction)) * 10);
  return `[${'#'.repeat(n)}${'.'.repeat(10 - n)}]`;
}

/** Keeps one line per node; on a terminal the lines are redrawn in place, otherwise each change prints once. */
class NodeLines {
  private readonly lines = new Map<string, string>();
  private drawn = 0;
  constructor(private readonly io: CliIo) {}

  update(e: RunEvent): void {
    if (!e.node) return;
    const d = (e.data ?? {}) as Record<string, unknown>;
    const text: Record<string, string> = {
      'node.started': `running ${d.function ?? ''}`,
      'node.progress': `running ${bar(Number(d.fraction))} ${d.message ?? ''}`,
      'node.retrying': `retrying (attempt ${Number(d.attempt) + 1}) after: ${d.error}`,
      'node.succeeded': `done in ${d.durationMs} ms${Number(d.attempts) > 1 ? ` (${d.attempts} attempts)` : ''}`,
      'node.failed': `FAILED: ${d.error}`,
      'node.skipped': `skipped: ${d.reason}`,
    };
    const line = `${e.node.padEnd(14)} ${text[e.type] ?? e.type}`;
    this.lines.set(e.node, line);
    const tty = Boolean((this.io.stderr as { isTTY?: boolean }).isTTY);
    if (!tty) return void eprintln(this.io, line);
    if (this.drawn) this.io.stderr.write(`\x1b[${this.drawn}A`);
    for (const l of this.lines.values()) this.io.stderr.write(`\x1b[2K${l}\n`);
    this.drawn = this.lines.size;
  }

  /** Prints a line of its own (a reconnection notice) below the node lines; they are redrawn below it. */
  note(line: string): void {
    eprintln(this.io, line);
    this.drawn = 0;
  }
}

/** Adds `spindle run` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('run'))
    .description("start a graph run and print its output (input: --input FILE, '-' for stdin or inline JSON, --data JSON, or the graph's example)")
    .argument('<graph>', 'graph name')
    .option('-i, --input <file|json>', "the run input: a JSON file, - for stdin, or inline JSON ('{\"name\":\"Ada\"}')")
    .option('-d, --data <json>', 'the run input as inline JSON')
    .option('--follow', 'show a live line per node while the run goes (reconnecting, without losing an event, when the connection drops)')
    .option('--file <field=path>', 'upload a local file as an artifact and put its key at this input field (repeatable)', (v: string, all: string[]) => [...all, v], [])
    .option('--download <dir>', 'after the run, download every artifact its output names (videos, audio, images) into this folder')
    .action(async (graph: string, flags: { input?: string; data?: string; follow?: boolean; file: string[]; download?: string; gateway?: string; yaml: string }) => {
      const ctx = new CommandContext(io, flags);
      const client = await ctx.client();
      const files = fileFlags(flags.file);
      let input = await readInput(io, flags.input, flags.data);
      if (input === undefined && files.length === 0) input = (await getGraph(client, graph)).example ?? null;
      for (const { field, path } of files) input = setField(input, field, await uploadFile(client, io, path));
      const finish = async (output: unknown) => {
        println(io, JSON.stringify(output, null, 2));
        if (flags.download) await downloadOutputs(client, io, output, resolve(io.cwd, flags.download));
      };
      if (!flags.follow) {
        const run = await startRun(client, graph, input, true);
        if (run.status !== 'succeeded') throw new CliError('SPINDLE_CLI_RUN_FAILED', `run ${run.runId} ${run.status}: ${run.error ?? ''}`);
        return finish(run.output);
      }
      const started = await startRun(client, graph, input);
      eprintln(io, `run ${started.runId} of ${graph}`);
      const lines = new NodeLines(io);
      for await (const e of followRun(client, started.runId, { onReconnect: (r) => lines.note(reconnectingLine(r)) })) lines.update(e);
      const run = await getRun(client, started.runId);
      if (run.status !== 'succeeded') throw new CliError('SPINDLE_CLI_RUN_FAILED', `run ${run.runId} ${run.status}: ${run.error ?? ''}`);
      await finish(run.output);
    });
}
