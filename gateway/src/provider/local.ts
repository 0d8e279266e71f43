/** The local provider: each replica is a child process on this machine. */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { inheritedEnv } from '../child-env.ts';
import { PRIVATE_DIR, PRIVATE_FILE } from '../data-dir.ts';
import { errors as undiciErrors, type Dispatcher } from 'undici';
import { BadGatewayError, BadRequestError, NotFoundError, SpindleError, TimeoutError, UnavailableError } from '../errors.ts';
import type { LogHub } from '../logs.ts';
import { FunctionGroup } from './group.ts';
import { cpuSeconds } from './proc.ts';
import { SpareProcess, spareCanRun } from './spare.ts';
import { Replica } from './replica.ts';
import type { AnswerSink, FunctionSchemas, ProgressEvent, Provider, ProviderCall, ProviderFunctionSpec, ReplicaStatus } from './types.ts';

/** A replica chosen for one call; `release()` once the call is over. */
interface Lease {
  replicaId: string;
  dispatcher: Dispatcher;
  release(): void;
}

/** An undici failure of a call to a replica as the catalogue's error; aborts pass through for the caller to name. */
function replicaError(err: unknown, call: ProviderCall, replicaId: string): unknown {
  if (err instanceof SpindleError) return err;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new TimeoutError(`function ${call.name} did not answer within its timeout of ${call.timeoutMs} ms`);
  }
  if (err instanceof undiciErrors.RequestContentLengthMismatchError) return new BadRequestError('request body does not match its Content-Length');
  if (err instanceof undiciErrors.RequestAbortedError || (err as Error)?.name === 'AbortError') return err;
  return new BadGatewayError(`replica ${replicaId} of function ${call.name} failed while handling the request: ${(err as Error).message}`, err);
}

/** How long after a spare was used the next one starts. */
const SPARE_REFILL_DELAY_MS = 2000;

/** What the local provider needs; built once in main.ts. */
export interface LocalProviderOptions {
  /** Where per-function working folders and secret files go. */
  runDir: string;
  logs: LogHub;
  logger: Logger;
  /** Variables every replica gets (artifact endpoint and token), on top of its own env. */
  replicaEnv: Record<string, string>;
  /** How long a retired replica may take to finish in-flight work. */
  drainMs?: number;
  /** How long a replica may take to report ready before it is killed and restarted (0: no limit). */
  startTimeoutMs?: number;
  /** Called when a replica that exited unexpectedly is replaced (spindle_replica_restarts_total). */
  onRestart?: (name: string) => void;
}

export class LocalProvider implements Provider {
  private readonly groups = new Map<string, FunctionGroup>();
  private readonly pruneTimers = new Set<NodeJS.Timeout>();
  private readonly progress = new EventEmitter();
  /** A booted `node` waiting to become a replica, kept while a function is at zero (a quicker wake). */
  private readonly spare: SpareProcess;
  private spareTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly opts: LocalProviderOptions) {
    this.progress.setMaxListeners(0);
    this.spare = new SpareProcess({ cwd: opts.runDir, env: inheritedEnv(), logger: opts.logger });
  }

  async deploy(spec: ProviderFunctionSpec): Promise<void> {
    const dir = this.versionDir(spec);
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
    const secretsDir = join(dir, 'secrets');
    await rm(secretsDir, { recursive: true, force: true });
    await mkdir(secretsDir, { mode: PRIVATE_DIR });
    for (const [name, value] of spec.secrets) {
      await writeFile(join(secretsDir, name), value, { mode: PRIVATE_FILE });
    }
    const group = this.groups.get(spec.name);
    if (group) group.update(spec);
    else {
      const created = new FunctionGroup(spec, (s, id) => this.makeReplica(s, id), this.opts.drainMs ?? 30_000, this.opts.startTimeoutMs);
      created.on('restart', () => this.opts.onRestart?.(spec.name));
      this.groups.set(spec.name, created);
    }
    // Older versions' folders are removed once nothing runs from them.
    void this.pruneVersions(spec.name, spec.version);
    if (spec.replicas === 0) this.spare.ensure();
  }

  async remove(name: string): Promise<void> {
    const group = this.groups.get(name);
    if (!group) return;
    this.groups.delete(name);
    await group.close();
    await rm(join(this.opts.runDir, name), { recursive: true, force: true });
  }

  scale(name: string, replicas: number): boolean {
    this.groups.get(name)?.scale(replicas);
    if (replicas === 0) this.spare.ensure();
    return true;
  }

  status(name: string): ReplicaStatus | null {
    return this.groups.get(name)?.status() ?? null;
  }

  schemas(name: string): FunctionSchemas | null {
    return this.groups.get(name)?.schemas ?? null;
  }

  /** CPU seconds of each replica process of `name` that is serving or draining (from /proc; empty elsewhere). */
  async replicaCpu(name: string): Promise<Array<{ id: string; cpuSeconds: number }>> {
    const live = (this.groups.get(name)?.replicas() ?? []).filter((r) => r.pid !== undefined && (r.state === 'ready' || r.state === 'draining'));
    const read = await Promise.all(live.map(async (r) => ({ id: r.id, cpuSeconds: await cpuSeconds(r.pid!) })));
    return read.filter((r): r is { id: string; cpuSeconds: number } => r.cpuSeconds !== null);
  }

  /**
   * Proxies one call to the ready replica with the fewest calls in flight. undici's stream() hands over
   * the replica's status and headers, then pipes its body into the sink chunk by chunk with no
   * intermediate stream (the fastest undici API, and what makes SSE reach the caller live).
   */
  async dispatch(call: ProviderCall, sink: AnswerSink): Promise<void> {
    const lease = await this.acquire(call.name, call.readyWaitMs);
    if (!lease) throw new NotFoundError(`function "${call.name}" is not deployed`);
    try {
      // The caller left while we waited for a replica: send nothing.
      if (call.gone?.()) return;
      const body = call.method === 'GET' || call.method === 'HEAD' ? null : call.body;
      await lease.dispatcher.stream(
        {
          origin: 'http://replica',
          path: call.path,
          method: call.method as Dispatcher.HttpMethod,
          headers: call.headers as Record<string, string | string[]>,
          body,
          headersTimeout: call.timeoutMs,
          bodyTimeout: call.timeoutMs,
          signal: call.signal,
        },
        ({ statusCode, headers }) => sink(statusCode, headers),
      );
    } catch (err) {
      throw replicaError(err, call, lease.replicaId);
    } finally {
      // The lease ends with the upstream call, not with the caller: a caller that leaves mid-call does
      // not make a still-busy replica look idle.
      lease.release();
    }
  }

  private async acquire(name: string, waitMs: number): Promise<Lease | null> {
    const group = this.groups.get(name);
    if (!group) return null;
    const replica = group.pick() ?? (await group.waitReady(waitMs));
    if (!replica?.pool) {
      throw new UnavailableError(`function ${name} has no ready replica after waiting ${waitMs} ms; see \`spindle logs ${name}\``);
    }
    replica.inflight++;
    let released = false;
    return {
      replicaId: replica.id,
      dispatcher: replica.pool,
      release() {
        if (released) return;
        released = true;
        replica.inflight--;
      },
    };
  }

  onProgress(fn: (event: ProgressEvent) => void): () => void {
    this.progress.on('progress', fn);
    return () => this.progress.off('progress', fn);
  }

  /** The replicas of `name` (process ids included), for tests and diagnostics. */
  replicas(name: string): Array<{ id: string; pid: number | undefined; state: string; inflight: number }> {
    return (this.groups.get(name)?.replicas() ?? []).map((r) => ({ id: r.id, pid: r.pid, state: r.state, inflight: r.inflight }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.pruneTimers) clearTimeout(t);
    if (this.spareTimer) clearTimeout(this.spareTimer);
    this.spare.close();
    await Promise.all([...this.groups.values()].map((g) => g.close()));
    this.groups.clear();
  }

  /** Each version has its own folder (and secret files), so a redeploy picks up rotated secrets. */
  private versionDir(spec: ProviderFunctionSpec): string {
    return join(this.opts.runDir, spec.name, String(spec.version));
  }

  private makeReplica(spec: ProviderFunctionSpec, id: string): Replica {
    const dir = this.versionDir(spec);
    return new Replica({
      id,
      name: spec.name,
      bundlePath: spec.bundlePath,
      cwd: dir,
      logs: this.opts.logs,
      logger: this.opts.logger,
      onProgress: (e) => this.progress.emit('progress', e),
      takeSpare: spareCanRun(spec.env) ? () => this.takeSpare() : undefined,
      env: {
        // Only the allow-listed few of the gateway's own variables: nothing else leaks to functions.
        ...inheritedEnv(),
        ...spec.env,
        ...this.opts.replicaEnv,
        exec_timeout: `${spec.timeoutMs}ms`,
        PORT: '0',
        HOST: '127.0.0.1',
        SPINDLE_FUNCTION_NAME: spec.name,
        SPINDLE_REPLICA_ID: id,
        SPINDLE_SECRETS_DIR: join(dir, 'secrets'),
      },
    });
  }

  /**
   * The spare for a replica starting now. The next one starts a little later, so it does not compete
   * for the CPU with the replica a woken call waits for, and only while some function is still at zero.
   */
  private takeSpare(): ChildProcess | null {
    const child = this.spare.take();
    if (child && !this.spareTimer && !this.closed) {
      this.spareTimer = setTimeout(() => {
        this.spareTimer = null;
        if ([...this.groups.values()].some((g) => g.spec.replicas === 0)) this.spare.ensure();
      }, SPARE_REFILL_DELAY_MS);
      this.spareTimer.unref();
    }
    return child;
  }

  private async pruneVersions(name: string, keep: number): Promise<void> {
    // Wait for the old version to drain before removing its folder.
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        this.pruneTimers.delete(t);
        r();
      }, (this.opts.drainMs ?? 30_000) + 5000).unref();
      this.pruneTimers.add(t);
    });
    const group = this.groups.get(name);
    if (!group || group.spec.version !== keep) return; // removed, or a newer deploy prunes instead
    // A version still running (a rollout whose new replicas never became ready) keeps its folder.
    const running = group.runningVersions();
    const entries = await readdir(join(this.opts.runDir, name)).catch(() => [] as string[]);
    for (const e of entries) {
      const v = Number(e);
      if (v < keep && !running.has(v)) await rm(join(this.opts.runDir, name, e), { recursive: true, force: true });
    }
  }
}
