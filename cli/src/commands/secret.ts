/** `spindle secret create|update|list|remove`: the gateway's secrets, which functions mount by name. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { isValidName } from '@spindle/schemas';
import type { SecretValue } from '../client.ts';
import { InvalidNameError, UsageError } from '../errors.ts';
import { println, readAll, table, type CliIo } from '../io.ts';
import { CommandContext, withCommon } from './context.ts';

interface ValueFlags {
  fromLiteral?: string;
  fromFile?: string;
  gateway?: string;
  yaml: string;
}

/** Text stays text; bytes that are not UTF-8 go as base64 `rawValue`. */
function encode(bytes: Buffer): SecretValue {
  try {
    return { value: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { rawValue: bytes.toString('base64') };
  }
}

/** The value from --from-literal, --from-file or piped stdin (one trailing newline dropped). */
async function secretValue(io: CliIo, flags: ValueFlags): Promise<SecretValue> {
  if (flags.fromLiteral !== undefined && flags.fromFile !== undefined) throw new UsageError('use either --from-literal or --from-file, not both');
  if (flags.fromLiteral !== undefined) return { value: flags.fromLiteral };
  if (flags.fromFile !== undefined) {
    try {
      return encode(await readFile(path.resolve(io.cwd, flags.fromFile)));
    } catch (err) {
      throw new UsageError(`cannot read ${flags.fromFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (io.stdin.isTTY) throw new UsageError('give the value with --from-literal V, --from-file F, or pipe it on stdin');
  const bytes = await readAll(io.stdin);
  const trimmed = bytes.at(-1) === 0x0a ? bytes.subarray(0, bytes.at(-2) === 0x0d ? -2 : -1) : bytes;
  return encode(Buffer.from(trimmed));
}

function checkName(name: string): void {
  if (!isValidName(name)) throw new InvalidNameError('secret', name);
}

/** Adds `spindle secret` to the program. */
export function register(program: Command, io: CliIo): void {
  const secret = program.command('secret').description('manage secrets');
  const withValue = (cmd: Command) =>
    withCommon(cmd.argument('<name>', 'secret name'))
      .option('--from-literal <value>', 'the value itself')
      .option('--from-file <file>', 'read the value from a file');

  withValue(secret.command('create'))
    .description('create a secret (value from --from-literal, --from-file or stdin)')
    .action(async (name: string, flags: ValueFlags) => {
      checkName(name);
      const ctx = new CommandContext(io, flags);
      await (await ctx.client()).createSecret(name, await secretValue(io, flags));
      println(io, `created secret ${name}`);
    });

  withValue(secret.command('update'))
    .description('replace a secret\'s value')
    .action(async (name: string, flags: ValueFlags) => {
      checkName(name);
      const ctx = new CommandContext(io, flags);
      await (await ctx.client()).updateSecret(name, await secretValue(io, flags));
      println(io, `updated secret ${name}`);
    });

  withCommon(secret.command('list').alias('ls'))
    .description('list secret names')
    .action(async (flags: { gateway?: string; yaml: string }) => {
      const ctx = new CommandContext(io, flags);
      const secrets = await (await ctx.client()).listSecrets();
      println(io, table([['NAME'], ...secrets.map((s) => [s.name]).sort((a, b) => a[0]!.localeCompare(b[0]!))]));
    });

  withCommon(secret.command('remove').alias('rm').argument('<name>', 'secret name'))
    .description('delete a secret')
    .action(async (name: string, flags: { gateway?: string; yaml: string }) => {
      const ctx = new CommandContext(io, flags);
      await (await ctx.client()).removeSecret(name);
      println(io, `removed secret ${name}`);
    });
}
