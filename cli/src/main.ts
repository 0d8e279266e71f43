/** The `spindle` program: wires every command, runs one, and renders expected errors as `error: <message>`. */
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { CliError } from './errors.ts';
import { processIo, type CliIo } from './io.ts';
import { register as registerArtifacts } from './commands/artifacts.ts';
import { register as registerBuild } from './commands/build.ts';
import { register as registerDeploy } from './commands/deploy.ts';
import { register as registerDescribe } from './commands/describe.ts';
import { register as registerInvoke } from './commands/invoke.ts';
import { register as registerList } from './commands/list.ts';
import { register as registerLogin } from './commands/login.ts';
import { register as registerLogs } from './commands/logs.ts';
import { register as registerNew } from './commands/new.ts';
import { register as registerQueueWorker } from './commands/queue-worker.ts';
import { register as registerRemove } from './commands/remove.ts';
import { register as registerRun } from './commands/run.ts';
import { register as registerRuns } from './commands/runs.ts';
import { register as registerScale } from './commands/scale.ts';
import { register as registerSecret } from './commands/secret.ts';
import { register as registerStart } from './commands/start.ts';
import { register as registerUp } from './commands/up.ts';

/** Printed by `spindle --version`. */
export const VERSION = '0.1.0';

/** Builds the commander program bound to `io`. */
export function createProgram(io: CliIo): Command {
  const program = new Command('spindle')
    .description('Spindle: build, deploy and call serverless functions (faas-cli compatible where it can be)')
    .version(VERSION, '--version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  for (const register of [
    registerNew,
    registerBuild,
    registerDeploy,
    registerUp,
    registerInvoke,
    registerList,
    registerDescribe,
    registerRemove,
    registerLogs,
    registerScale,
    registerLogin,
    registerSecret,
    registerStart,
    registerQueueWorker,
    registerRun,
    registerRuns,
    registerArtifacts,
  ]) {
    register(program, io);
  }
  // Every (sub)command reports through the same exit path instead of calling process.exit itself.
  const exitOverride = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

/** Runs the CLI with `argv` (user arguments only); returns the exit code. */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  try {
    await createProgram(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      io.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`error: unexpected failure (a bug in spindle, please report it):\n${err instanceof Error ? err.stack : String(err)}\n`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await runCli(process.argv.slice(2));
}
