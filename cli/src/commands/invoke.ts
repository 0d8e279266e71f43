/** `spindle invoke NAME`: send stdin to /function/NAME and stream the reply to stdout (`--async`: queue it, print the call id). */
import type { Command } from 'commander';
import { InvokeFailedError, UsageError } from '../errors.ts';
import { readAll, type CliIo } from '../io.ts';
import { CommandContext, withCommon } from './context.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Splits `key=value`; the value may itself contain `=`. */
function splitPair(flag: string, pair: string): [string, string] {
  const at = pair.indexOf('=');
  if (at <= 0) throw new UsageError(`${flag} expects key=value, got ${JSON.stringify(pair)}`);
  return [pair.slice(0, at), pair.slice(at + 1)];
}

async function write(stream: NodeJS.WritableStream, chunk: Uint8Array): Promise<void> {
  if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
}

/** Adds `spindle invoke` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('invoke').argument('<name>', 'function name'))
    .description('call a function with stdin as the request body; the reply streams to stdout')
    .option('--content-type <type>', 'request content type', 'text/plain')
    .option('-H, --header <key=value>', 'request header (repeatable)', collect, [])
    .option('-m, --method <method>', 'HTTP method', 'POST')
    .option('--query <key=value>', 'query string parameter (repeatable)', collect, [])
    .option('--async', 'queue the call (/async-function/NAME) and print its call id instead of the reply')
    .option('--callback <url>', 'with --async: where the gateway POSTs the result (X-Callback-Url)')
    .action(async (name: string, flags: { contentType: string; header: string[]; method: string; query: string[]; async?: boolean; callback?: string; gateway?: string; yaml: string }) => {
      if (flags.callback && !flags.async) throw new UsageError('--callback only goes with --async');
      const ctx = new CommandContext(io, flags);
      const headers: Record<string, string> = { 'content-type': flags.contentType };
      for (const h of flags.header) {
        const [k, v] = splitPair('-H', h);
        headers[k.toLowerCase()] = v;
      }
      const query = flags.query.map((q) => splitPair('--query', q));
      const body = await readAll(io.stdin);
      const client = await ctx.client();
      if (flags.async) {
        const callId = await client.invokeAsync(name, { method: flags.method, headers, query, body, callbackUrl: flags.callback });
        io.stdout.write(`${callId}\n`);
        return;
      }
      const abort = new AbortController();
      const off = io.onInterrupt(() => abort.abort());
      try {
        const res = await client.invoke(name, { method: flags.method, headers, query, body, signal: abort.signal });
        const out = res.ok ? io.stdout : io.stderr;
        let last = 0x0a;
        if (res.body) {
          for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
            if (chunk.length) last = chunk[chunk.length - 1]!;
            await write(out, chunk);
          }
        }
        if (!res.ok) {
          if (last !== 0x0a) io.stderr.write('\n');
          throw new InvokeFailedError(name, res.status);
        }
      } catch (err) {
        if (abort.signal.aborted) return;
        throw err;
      } finally {
        off();
      }
    });
}
