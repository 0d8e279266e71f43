/** `npm start` on one machine: the GPU runner as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { GPU_RUNNER_ENV, inheritedEnv } from '../child-env.ts';
import { PRIVATE_FILE } from '../data-dir.ts';

/**
 * Starts the GPU runner (its own process: its own event loop and the GPU); logs go to `logFile`. GPU
 * handlers run in it, so it inherits only the allow-listed variables (child-env.ts) plus `env`.
 * `built` is the runner's `main.mjs` built by `spindle start` (see gpu-runner/src/build.ts), run on plain
 * node; without it the TypeScript sources run through tsx (tests, and callers that did not build it).
 */
export function startRunnerProcess(env: Record<string, string>, logFile: string, logger: Logger, built?: string): ChildProcess {
  const args = built ? ['--enable-source-maps', built] : ['--import', 'tsx', createRequire(import.meta.url).resolve('@spindle/gpu-runner/main')];
  const log = createWriteStream(logFile, { flags: 'a', mode: PRIVATE_FILE });
  const child = spawn(process.execPath, args, { env: { ...inheritedEnv(GPU_RUNNER_ENV), ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  child.stdout!.on('data', (d: Buffer) => {
    const line = d.toString();
    if (line.includes('gpu-runner ready')) logger.info({ line: line.trim() }, 'GPU runner ready');
  });
  child.on('exit', (code, signal) => logger.warn({ code, signal }, 'GPU runner exited'));
  return child;
}
