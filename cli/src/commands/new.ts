/** `spindle new NAME --lang control|gpu`: scaffold functions/NAME/handler.ts and add it to stack.yml. */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { isValidName } from '@spindle/schemas';
import { FunctionExistsError, InvalidNameError, UnsupportedLangError } from '../errors.ts';
import { println, type CliIo } from '../io.ts';
import { displayPath } from '../stack.ts';
import { addFunctionToStack } from '../stack-edit.ts';
import { controlHandler, gpuHandler, gpuModelRecipe } from '../templates.ts';
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
  if (opts.lang !== 'control' && opts.lang !== 'gpu') throw new UnsupportedLangError(`unknown lang ${JSON.stringify(opts.lang)}: use --lang control or --lang gpu`);
  const stackDir = path.dirname(opts.stackFile);
  const dir = path.join(stackDir, 'functions', opts.name);
  if (existsSync(dir)) throw new FunctionExistsError(`${displayPath(dir, cwd)} already exists: pick another name or remove it first`);
  // The stack entry goes first: it refuses duplicates before any file is written.
  await addFunctionToStack(opts.stackFile, opts.name, { lang: opts.lang, handler: `./functions/${opts.name}` }, cwd);
  await mkdir(dir, { recursive: true });
  const handler = path.join(dir, 'handler.ts');
  if (opts.lang === 'gpu') {
    await writeFile(handler, gpuHandler(opts.name));
    await writeFile(path.join(dir, 'model.onnx.ts'), gpuModelRecipe());
  } else await writeFile(handler, controlHandler(opts.name));
  return handler;
}

/** Adds `spindle new` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('new').argument('<name>', 'function name (lowercase letters, digits, "-")'))
    .description('create a function from a template and add it to stack.yml')
    .option('--lang <lang>', 'function kind: control (replicas) or gpu (the GPU runner)', 'control')
    .action(async (name: string, flags: { lang: string; gateway?: string; yaml: string }) => {
      const ctx = new CommandContext(io, flags);
      const handler = await newFunction({ name, lang: flags.lang, stackFile: ctx.stackFile, cwd: io.cwd });
      println(io, `created ${displayPath(handler, io.cwd)} and added ${name} to ${displayPath(ctx.stackFile, io.cwd)}`);
      const sample = flags.lang === 'gpu' ? '{"x":[1,2,3,4,5,6,7,8]}' : '{"name":"Ada"}';
      println(io, `next: spindle up --filter ${name}   then: echo '${sample}' | spindle invoke ${name}`);
    });
}
