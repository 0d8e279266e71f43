/** An inference worker thread: owns onnxruntime sessions so `session.run` never blocks the runner's main loop. */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parentPort } from 'node:worker_threads';
import type { AnyGpuFunctionDefinition, GpuContext } from '@spindle/runtime';
import { sessionOptions } from './ep.ts';
import { BundleInvalidError, errorAnswer, RunnerError, VersionNotLoadedError, WorkerFailedError } from './errors.ts';
import { execute, inputValidator, type LoadedFunction } from './execute.ts';
import type { FromWorker, ToWorker } from './messages.ts';
import { ModelCache } from './model-cache.ts';

// GPU bundles leave native modules (onnxruntime-node, sharp) out and require them through this hook,
// so they resolve from the runner's installation wherever the bundle file lives.
(globalThis as { __spindleRequire?: NodeRequire }).__spindleRequire = createRequire(import.meta.url);

const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const logger: GpuContext['logger'] = {
  info: (...a: unknown[]) => console.log(JSON.stringify({ level: 'info', msg: a.map(String).join(' ') })),
  warn: (...a: unknown[]) => console.warn(JSON.stringify({ level: 'warn', msg: a.map(String).join(' ') })),
  error: (...a: unknown[]) => console.error(JSON.stringify({ level: 'error', msg: a.map(String).join(' ') })),
  debug: () => {},
} as unknown as GpuContext['logger'];

let ep: 'cuda' | 'cpu' = 'cpu';
let cache: ModelCache;
const versions = new Map<string, { fn: LoadedFunction; paths: Record<string, string> }>();

async function load(msg: Extract<ToWorker, { t: 'load' }>): Promise<void> {
  try {
    const mod = (await import(pathToFileURL(msg.spec.bundlePath).href)) as { default?: AnyGpuFunctionDefinition };
    const def = mod.default;
    if (def?.kind !== 'gpu') throw new BundleInvalidError(`${msg.spec.bundlePath} does not export default defineGpuFunction(...)`);
    const paths: Record<string, string> = {};
    for (const [name, digest] of Object.entries(def.models)) {
      const path = msg.spec.models[digest];
      if (!path) throw new BundleInvalidError(`model "${name}" (${digest}) was not uploaded with the function`);
      paths[digest] = path;
    }
    const fn: LoadedFunction = { name: msg.spec.name, def, models: def.models, validate: inputValidator(def) };
    const sessions = await cache.acquire(paths);
    post({ t: 'models', models: cache.info() });
    if (def.warmup) await execute({ ...fn, def: { ...def, handle: (_i: unknown, ctx) => def.warmup!(ctx), batch: undefined } }, [{ id: 'warmup', contentType: 'application/json', body: Buffer.from('null') }], sessions, ep, logger);
    versions.set(msg.key, { fn: { ...fn, validate: inputValidator(def) }, paths });
    const b = def.batch;
    post({ t: 'loaded', seq: msg.seq, info: { batch: b ? { maxSize: Math.max(1, b.maxSize), maxDelayMs: Math.max(0, b.maxDelayMs) } : null, models: Object.keys(def.models) } });
  } catch (err) {
    post({ t: 'failed', seq: msg.seq, message: (err as Error).message, code: err instanceof RunnerError ? err.code : 'SPINDLE_GPU_LOAD_FAILED' });
  }
}

async function run(msg: Extract<ToWorker, { t: 'run' }>): Promise<void> {
  // Every item is answered, whatever fails here: a run left without its `done` would hold its jobs forever.
  const failAll = (err: RunnerError) => {
    const answer = errorAnswer(err);
    post({ t: 'done', seq: msg.seq, results: msg.items.map(() => answer), timings: [] });
  };
  const v = versions.get(msg.key);
  if (!v) {
    failAll(new VersionNotLoadedError(msg.key));
    return;
  }
  const before = cache.info().length;
  let sessions: Awaited<ReturnType<ModelCache['acquire']>>;
  try {
    // A model evicted for another function's is loaded again here, and that can fail (file gone, out of memory).
    sessions = await cache.acquire(v.paths);
  } catch (err) {
    post({ t: 'models', models: cache.info() });
    failAll(err instanceof RunnerError ? err : new WorkerFailedError((err as Error).message, err));
    return;
  }
  if (cache.info().length !== before) post({ t: 'models', models: cache.info() });
  const progress = (items: number[], fraction: number, message: string | null) => post({ t: 'progress', seq: msg.seq, items, fraction, message });
  const { results, timings } = await execute(v.fn, msg.items, sessions, ep, logger, progress, msg.artifacts ?? null);
  cache.touch(sessions.keys());
  const transfer = results.map((r) => r.body.buffer).filter((b, i, all): b is ArrayBuffer => b instanceof ArrayBuffer && b.byteLength === results[i].body.byteLength && all.indexOf(b) === i);
  post({ t: 'done', seq: msg.seq, results, timings }, transfer);
}

function unload(msg: Extract<ToWorker, { t: 'unload' }>): void {
  versions.delete(msg.key);
  const inUse = new Set([...versions.values()].flatMap((v) => Object.keys(v.paths)));
  for (const digest of msg.models) if (!inUse.has(digest)) void cache.drop(digest);
  post({ t: 'models', models: cache.info() });
}

// Messages are handled one at a time: one batch computes while the next waits, and a model is never
// evicted under a running batch.
let chain: Promise<void> = Promise.resolve();

/** Releases idle sessions in turn with the messages, so never under a running batch. */
function releaseIdleEvery(ms: number): void {
  const sweep = () => {
    chain = chain.then(async () => {
      if ((await cache.releaseIdle(ms)) > 0) post({ t: 'models', models: cache.info() });
    }).catch((err) => logger.error('releasing idle models failed', err));
  };
  setInterval(sweep, Math.max(250, Math.floor(ms / 4))).unref();
}

port.on('message', (msg: ToWorker) => {
  chain = chain.then(async () => {
    if (msg.t === 'init') {
      ep = msg.ep;
      cache = new ModelCache(msg.budgetBytes, sessionOptions(msg.ep, msg.threads), (digest, seconds) => post({ t: 'models', models: cache.info(), loadSeconds: [digest, seconds] }));
      if (msg.idleReleaseMs > 0) releaseIdleEvery(msg.idleReleaseMs);
    } else if (msg.t === 'load') await load(msg);
    else if (msg.t === 'run') await run(msg);
    else unload(msg);
  }).catch((err) => logger.error('worker message failed', err));
});
