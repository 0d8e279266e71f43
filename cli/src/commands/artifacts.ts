/** `spindle artifacts put FILE` and `spindle artifacts get KEY [-o FILE]`: media in and out of the object store. */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { downloadTo, uploadFile } from '../artifacts.ts';
import { eprintln, println, type CliIo } from '../io.ts';
import { CommandContext, withCommon } from './context.ts';

/** Adds `spindle artifacts` to the program. */
export function register(program: Command, io: CliIo): void {
  const artifacts = program.command('artifacts').description('upload and download artifacts (photos, audio, videos) by key');
  withCommon(artifacts.command('put').argument('<file>', 'a local file'))
    .description('upload a file (POST /artifacts) and print its key, to use in a run input')
    .action(async (file: string, flags: { gateway?: string; yaml: string }) => {
      const client = await new CommandContext(io, flags).client();
      println(io, await uploadFile(client, io, file));
    });
  withCommon(artifacts.command('get').argument('<key>', 'artifact key, e.g. videos/…mp4'))
    .description('download an artifact (GET /artifacts/KEY) to a file')
    .option('-o, --output <file>', 'where to write it (- for stdout; default: the key\'s last part)')
    .action(async (key: string, flags: { output?: string; gateway?: string; yaml: string }) => {
      const client = await new CommandContext(io, flags).client();
      const file = flags.output ?? basename(key);
      const bytes = await downloadTo(client, io, key, file);
      if (file !== '-') eprintln(io, `wrote ${file} (${bytes} bytes)`);
    });
}
