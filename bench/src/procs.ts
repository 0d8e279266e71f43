/** The bench's child processes: start one, wait for its ready line, stop it; none outlives the bench. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A started child; `stop()` sends SIGTERM, then SIGKILL after the grace period. Idempotent. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions<T> {
  /** Shown in errors. */
  name: string;
  /** Arguments to `node` (this process's executable). */
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Reads one stdout line; returns what it announces once the child is ready, else undefined. */
  ready: (line: string) => T | undefined;
  timeoutMs?: number;
}

const live = new Map<ChildProcess, Child>();

/** Parses a line as a JSON object, or undefined when it is not one. */
export function jsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Ready parser for a `{"msg":"listening","port":N}` line (the replica watchdog's, and the minimal proxy's). */
export function listeningPort(line: string): number | undefined {
  const o = jsonLine(line);
  return o?.msg === 'listening' && typeof o.port === 'number' ? o.port : undefined;
}

/**
 * Spawns `node <args>` with an IPC channel, so the child sees `disconnect` and can exit even if the bench is
 * killed outright, and resolves once `ready` accepts a stdout line.
 */
export function startNode<T>(opts: StartOptions<T>): Promise<{ child: Child; ready: T }> {
  const proc = spawn(process.execPath, opts.args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
  const tail: string[] = [];
  const remember = (line: string) => {
    tail.push(line);
    if (tail.length > 30) tail.shift();
  };
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let stopping: Promise<void> | null = null;
  const child: Child = {
    name: opts.name,
    pid: proc.pid ?? -1,
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        if (proc.exitCode === null && proc.signalCode === null) {
          proc.kill('SIGTERM');
          const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        live.delete(proc);
      })();
      return stopping;
    },
  };
  live.set(proc, child);
  // A child blocked on a full stdout pipe would stall the benchmark: keep reading every line.
  createInterface({ input: proc.stderr!, crlfDelay: Infinity }).on('line', remember);
  const lines = createInterface({ input: proc.stdout!, crlfDelay: Infinity });

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void child.stop(500);
      reject(new Error(`${opts.name} (pid ${child.pid}) ${why}${tail.length ? `; its last output:\n  ${tail.join('\n  ')}` : ''}`));
    };
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const timer = setTimeout(() => fail(`was not ready within ${timeoutMs} ms`), timeoutMs);
    proc.once('error', (err) => fail(`could not start: ${err.message}`));
    proc.once('exit', (code, signal) => fail(`exited before it was ready (code ${code}, signal ${signal})`));
    lines.on('line', (line) => {
      remember(line);
      if (settled) return;
      const value = opts.ready(line);
      if (value === undefined) return;
      settled = true;
      clearTimeout(timer);
      resolve({ child, ready: value });
    });
  });
}

/** Stops every child still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live.values()].map((c) => c.stop()));
}

/** Last resort from a `process.on('exit')` handler, where nothing asynchronous runs: SIGKILL whatever is left. */
export function killAllSync(): void {
  for (const proc of live.keys()) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
  live.clear();
}
