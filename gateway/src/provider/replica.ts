/** One replica: a child process running the watchdog on a bundle, reached through a keep-alive pool. */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import type { LogHub } from '../logs.ts';
import { type FunctionSchemas, functionSchemas, type ProgressEvent } from './types.ts';

export type ReplicaState = 'starting' | 'ready' | 'draining' | 'stopped';

/** How to start a replica. */
export interface ReplicaOptions {
  id: string;
  name: string;
  bundlePath: string;
  cwd: string;
  env: Record<string, string>;
  logs: LogHub;
  logger: Logger;
  onProgress(event: ProgressEvent): void;
  /** A `node` process already booted to become this replica (spare.ts), or null to spawn one. */
  takeSpare?: () => ChildProcess | null;
}

/**
 * A child process (spawned for it, or a spare already booted) and the pool that talks to it. Events:
 * `ready`, `exit` (code, signal, wasStopped).
 * The replica is ready once the watchdog reports its port over IPC: that happens after the bundle
 * (the handler included) has loaded and the server listens, so no extra probe delays a cold start.
 * One that has not reported ready within its start timeout is killed; its `exit` then counts as a
 * failure (wasStopped false) and `startTimedOut` says why.
 */
export class Replica extends EventEmitter {
  readonly id: string;
  state: ReplicaState = 'starting';
  inflight = 0;
  pool: Pool | null = null;
  readonly startedAt = Date.now();
  /** When the replica became routable; null while starting (or if it never did). */
  readyAt: number | null = null;
  /** The input/output JSON Schemas the watchdog reported at ready (null: none, e.g. a raw-body function). */
  schemas: FunctionSchemas = { input: null, output: null };
  /** True when the replica was killed for not reporting ready within its start timeout. */
  startTimedOut = false;
  private child: ChildProcess | null = null;
  private stopping = false;
  private startTimer: NodeJS.Timeout | null = null;
  private readonly exited: Promise<void>;
  private resolveExited!: () => void;

  constructor(private readonly opts: ReplicaOptions) {
    super();
    this.id = opts.id;
    this.exited = new Promise((r) => (this.resolveExited = r));
  }

  /**
   * Spawns the process. A replica that has not reported ready after `startTimeoutMs` (0: no limit) is
   * killed, with a line in the function's logs saying so.
   */
  start(startTimeoutMs = 0): void {
    const { opts } = this;
    const spare = opts.takeSpare?.() ?? null;
    const child =
      spare ??
      spawn(process.execPath, [opts.bundlePath], {
        cwd: opts.cwd,
        env: opts.env,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'json',
      });
    if (spare) {
      // The spare takes this replica's folder and environment and imports the bundle; one it cannot be told about is of no use.
      spare.send({ type: 'run', bundlePath: opts.bundlePath, cwd: opts.cwd, env: opts.env }, (err) => {
        if (err) spare.kill('SIGKILL');
      });
    }
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => opts.logs.push(opts.name, this.id, line));
    }
    child.on('message', (msg: { type?: string; port?: number; callId?: string; fraction?: number; message?: string | null; schemas?: unknown }) => {
      if (msg?.type === 'ready' && typeof msg.port === 'number' && this.state === 'starting') {
        this.pool = new Pool(`http://127.0.0.1:${msg.port}`, {
          connections: 256,
          pipelining: 1,
          keepAliveTimeout: 60_000,
          keepAliveMaxTimeout: 600_000,
        });
        this.state = 'ready';
        this.readyAt = Date.now();
        this.schemas = functionSchemas(msg.schemas);
        this.clearStartTimer();
        this.emit('ready');
      } else if (msg?.type === 'progress' && typeof msg.callId === 'string') {
        opts.onProgress({ name: opts.name, callId: msg.callId, fraction: Number(msg.fraction) || 0, message: msg.message ?? null });
      }
    });
    child.on('error', (err) => opts.logger.error({ err, replica: this.id }, 'replica process error'));
    child.on('exit', (code, signal) => {
      this.clearStartTimer();
      const wasStopped = this.stopping;
      this.state = 'stopped';
      // destroy() fails requests still in flight; the invoke route turns that into a 502.
      void this.pool?.destroy().catch(() => {});
      this.resolveExited();
      this.emit('exit', code, signal, wasStopped);
    });
    if (startTimeoutMs > 0) {
      this.startTimer = setTimeout(() => {
        this.startTimer = null;
        if (this.state !== 'starting' || this.stopping) return;
        this.startTimedOut = true;
        // SIGKILL: a replica that never got ready has no work to drain, and a blocked event loop ignores SIGTERM.
        this.note(`replica did not report ready within ${startTimeoutMs} ms (SPINDLE_START_TIMEOUT_MS); killing it`, 'error');
        this.child?.kill('SIGKILL');
      }, startTimeoutMs);
    }
  }

  /** Writes a line about this replica into the function's logs (`spindle logs NAME`) and the gateway log. */
  note(text: string, level: 'info' | 'warn' | 'error' = 'warn'): void {
    this.opts.logs.push(this.opts.name, this.id, `[spindle] ${text}`);
    this.opts.logger[level]({ function: this.opts.name, replica: this.id }, text);
  }

  private clearStartTimer(): void {
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = null;
  }

  /** Process id, for tests and diagnostics. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Takes the replica out of rotation, waits for its in-flight requests (up to `graceMs`), then stops it. */
  async stop(graceMs: number): Promise<void> {
    if (this.stopping) return this.exited;
    this.stopping = true;
    if (this.state !== 'stopped') this.state = 'draining';
    const deadline = Date.now() + graceMs;
    while (this.inflight > 0 && Date.now() < deadline && this.child?.exitCode === null) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const killer = setTimeout(() => this.child?.kill('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(killer);
    }
    await this.pool?.close().catch(() => {});
  }
}
