/** `up --watch`: rebuild a function when its folder changes, and redeploy it when its digest changed. */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { watch } from 'chokidar';
import { buildDir, buildFunction } from './build.ts';
import type { GatewayClient } from './client.ts';
import { deployFunction } from './deploy.ts';
import type { LoadedStack, StackEntry } from './stack.ts';

export interface WatchOptions {
  stack: LoadedStack;
  entries: StackEntry[];
  dataDir: string;
  client: GatewayClient;
  /** Digests already deployed, so the first unchanged rebuild deploys nothing. */
  deployed: Map<string, string>;
  /** Quiet time after the last change before rebuilding (default 100 ms). */
  debounceMs?: number;
  onRedeploy: (event: { name: string; digest: string; ms: number; uploaded: boolean }) => void;
  onError: (name: string, err: unknown) => void;
}

export interface Watcher {
  /** Resolves once the initial scan is done and changes are being seen. */
  ready: Promise<void>;
  close(): Promise<void>;
}

const IGNORED = /(^|[/\\])(node_modules|\.spindle|\.git)([/\\]|$)/;

/** Watches each entry's folder; changes in one folder rebuild only that function. */
export function watchFunctions(opts: WatchOptions): Watcher {
  const debounceMs = opts.debounceMs ?? 100;
  const timers = new Map<string, NodeJS.Timeout>();
  const running = new Set<string>();
  const pending = new Set<string>();
  let closed = false;

  const rebuild = async (entry: StackEntry): Promise<void> => {
    if (running.has(entry.name)) {
      pending.add(entry.name);
      return;
    }
    running.add(entry.name);
    const started = performance.now();
    try {
      const outDir = buildDir(opts.dataDir, entry.name);
      const result = await buildFunction({ name: entry.name, handlerDir: entry.handlerDir, stackDir: opts.stack.dir, outDir });
      if (!closed && opts.deployed.get(entry.name) !== result.digest) {
        const bytes = await readFile(result.bundlePath);
        const deployed = await deployFunction(opts.client, opts.stack, entry, { digest: result.digest, bytes });
        opts.deployed.set(entry.name, result.digest);
        opts.onRedeploy({ name: entry.name, digest: result.digest, uploaded: deployed.uploaded, ms: Math.round(performance.now() - started) });
      }
    } catch (err) {
      opts.onError(entry.name, err);
    } finally {
      running.delete(entry.name);
      if (pending.delete(entry.name) && !closed) void rebuild(entry);
    }
  };

  const schedule = (entry: StackEntry): void => {
    clearTimeout(timers.get(entry.name));
    timers.set(entry.name, setTimeout(() => void rebuild(entry), debounceMs));
  };

  const dataDir = path.resolve(opts.dataDir);
  const watcher = watch(
    opts.entries.map((e) => e.handlerDir),
    { ignoreInitial: true, ignored: (p: string) => IGNORED.test(p) || p === dataDir || p.startsWith(dataDir + path.sep) },
  );
  watcher.on('all', (_event, file) => {
    const abs = path.resolve(file);
    for (const entry of opts.entries) {
      if (abs === entry.handlerDir || abs.startsWith(entry.handlerDir + path.sep)) schedule(entry);
    }
  });
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    ready,
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers.values()) clearTimeout(t);
      await watcher.close();
    },
  };
}
