/**
 * One spare replica process: `node` already booted and waiting for a bundle (spare-process.mjs). A replica
 * started from it skips Node's own start-up, which is most of the time to the first answer of a function
 * woken from zero. The local provider keeps one while a function is at zero replicas.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

const SCRIPT = fileURLToPath(new URL('./spare-process.mjs', import.meta.url));

/**
 * Whether a replica with this env of its own may start from a spare: Node reads NODE_* (NODE_OPTIONS,
 * NODE_PATH...) and UV_* only at its own start, which a spare has had already.
 */
export function spareCanRun(functionEnv: Record<string, string>): boolean {
  return !Object.keys(functionEnv).some((k) => k.startsWith('NODE_') || k.startsWith('UV_'));
}

export class SpareProcess {
  private child: ChildProcess | null = null;
  /** Its exit and error handlers, removed when it is handed over. */
  private watch: { exit: (...a: unknown[]) => void; error: (err: Error) => void } | null = null;
  private closed = false;

  constructor(
    private readonly opts: {
      /** Where the spare waits (a replica changes to its own folder when it takes over). */
      cwd: string;
      /** The environment Node starts with: the same allow-listed variables a replica inherits. */
      env: Record<string, string>;
      logger: Logger;
    },
  ) {}

  /** Starts a spare unless one is waiting. */
  ensure(): void {
    if (this.closed || this.child) return;
    const child = spawn(process.execPath, [SCRIPT], { cwd: this.opts.cwd, env: this.opts.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'json' });
    this.child = child;
    const gone = (why: unknown) => {
      if (this.child !== child) return;
      this.child = null;
      if (!this.closed) this.opts.logger.warn({ why }, 'the spare replica process ended before it was used');
    };
    this.watch = { exit: (code, signal) => gone({ code, signal }), error: (err) => gone(err.message) };
    child.once('exit', this.watch.exit);
    child.once('error', this.watch.error);
  }

  /** Hands the spare over to become a replica, or null when none is waiting; `ensure()` starts the next. */
  take(): ChildProcess | null {
    const child = this.child;
    this.child = null;
    const watch = this.watch;
    this.watch = null;
    if (!child || !watch || !child.connected || child.exitCode !== null || child.signalCode !== null) return null;
    child.off('exit', watch.exit);
    child.off('error', watch.error);
    return child;
  }

  /** Stops a waiting spare. Idempotent. */
  close(): void {
    this.closed = true;
    this.child?.kill('SIGKILL');
    this.child = null;
  }
}
