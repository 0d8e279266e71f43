/** `spindle new NAME --lang control`: scaffold functions/NAME/handler.ts and add it to stack.yml. */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { isValidName } from '@spindle/schemas';
import { FunctionExistsError, InvalidNameError, UnsupportedLangError } from '../errors.ts';
import { println, type CliIo } from '../io.ts';
import { displayPath } from '../stack.ts';
import { addFunctionToStack } from '../stack-edit.ts';
import { controlHandler } from '../templates.ts';
import { CommandContext, withCommon } from './context.ts';

export interface NewFunctionOptions {
  name: string;
  lang: string;
  /** Absolute path of stack.yml (created when missing). */
  stackFile: string;
  cwd?: string;
}

/** Writes the handler and the stack entry; returns the handler file. */
export async function newFunction(opts: NewFunctionOptions): Promise<string> {
  const cwd = opts.cwd ?? process.cwd();
  if (!isValidName(opts.name)) throw new InvalidNameError('function', opts.name);
  if (opts.lang === 'gpu') {
    throw new UnsupportedLangError('lang "gpu" is not available yet in `spindle new`: only "control" functions can be created for now');
  }
  if (opts.lang !== 'control') throw new UnsupportedLangError(`unknown lang ${JSON.stringify(opts.lang)}: use --lang control`);
  const stackDir = path.dirname(opts.stackFile);
  const dir = path.join(stackDir, 'functions', opts.name);
  if (existsSync(dir)) throw new FunctionExistsError(`${displayPath(dir, cwd)} already exists: pick another name or remove it first`);
  // The stack entry goes first: it refuses duplicates before any file is written.
  await addFunctionToStack(opts.stackFile, opts.name, { lang: opts.lang, handler: `./functions/${opts.name}` }, cwd);
  await mkdir(dir, { recursive: true });
  const handler = path.join(dir, 'handler.ts');
  await writeFile(handler, controlHandler(opts.name));
  return handler;
}

/** Adds `spindle new` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('new').argument('<name>', 'function name (lowercase letters, digits, "-")'))
    .description('create a function from a template and add it to stack.yml')
    .option('--lang <lang>', 'function kind: control (gpu is not available yet)', 'control')
    .action(async (name: string, flags: { lang: string; gateway?: string; yaml: string }) => {
      const ctx = new CommandContext(io, flags);
      const handler = await newFunction({ name, lang: flags.lang, stackFile: ctx.stackFile, cwd: io.cwd });
      println(io, `created ${displayPath(handler, io.cwd)} and added ${name} to ${displayPath(ctx.stackFile, io.cwd)}`);
      println(io, `next: spindle up --filter ${name}   then: echo '{"name":"Ada"}' | spindle invoke ${name}`);
    });
}
