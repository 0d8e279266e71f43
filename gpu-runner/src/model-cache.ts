/** Sessions created once and reused, within a memory budget (model file bytes), least recently used evicted first. */
import { stat } from 'node:fs/promises';
import ort from 'onnxruntime-node';
import { ModelLoadError } from './errors.ts';

interface Entry {
  digest: string;
  session: ort.InferenceSession;
  bytes: number;
  lastUsed: number;
}

/** A model as reported in the heartbeat. */
export interface ModelInfo {
  digest: string;
  bytes: number;
  loads: number;
  lastUsed: string;
}

export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loads = new Map<string, number>();
  private loading = new Map<string, Promise<Entry>>();

  constructor(
    private readonly budgetBytes: number,
    private readonly options: ort.InferenceSession.SessionOptions,
    private readonly onLoad: (digest: string, seconds: number) => void = () => {},
  ) {}

  /**
   * Sessions for `models` (digest → path), loading what is missing; models outside this set may be evicted.
   * A model that cannot be loaded rejects with a ModelLoadError.
   */
  async acquire(models: Record<string, string>): Promise<Map<string, ort.InferenceSession>> {
    const wanted = new Set(Object.keys(models));
    const out = new Map<string, ort.InferenceSession>();
    for (const [digest, path] of Object.entries(models)) {
      let e = this.entries.get(digest);
      if (!e) e = await this.load(digest, path, wanted);
      e.lastUsed = Date.now();
      out.set(digest, e.session);
    }
    return out;
  }

  private load(digest: string, path: string, keep: Set<string>): Promise<Entry> {
    let p = this.loading.get(digest);
    if (!p) {
      p = (async () => {
        const { size } = await stat(path).catch((err) => {
          throw new ModelLoadError(digest, path, err);
        });
        await this.evictFor(size, keep);
        const started = performance.now();
        const session = await ort.InferenceSession.create(path, this.options).catch((err) => {
          throw new ModelLoadError(digest, path, err);
        });
        this.onLoad(digest, (performance.now() - started) / 1000);
        this.loads.set(digest, (this.loads.get(digest) ?? 0) + 1);
        const e: Entry = { digest, session, bytes: size, lastUsed: Date.now() };
        this.entries.set(digest, e);
        return e;
      })().finally(() => this.loading.delete(digest));
      this.loading.set(digest, p);
    }
    return p;
  }

  private async evictFor(bytes: number, keep: Set<string>): Promise<void> {
    const lru = [...this.entries.values()].filter((e) => !keep.has(e.digest)).sort((a, b) => a.lastUsed - b.lastUsed);
    while (this.usedBytes() + bytes > this.budgetBytes && lru.length) await this.drop(lru.shift()!.digest);
  }

  /** Marks `digests` used now (a run that just finished keeps its models as fresh as its start did). */
  touch(digests: Iterable<string>): void {
    for (const d of digests) {
      const e = this.entries.get(d);
      if (e) e.lastUsed = Date.now();
    }
  }

  /** Releases every session unused for `ms`; returns how many. */
  async releaseIdle(ms: number): Promise<number> {
    const stale = [...this.entries.values()].filter((e) => Date.now() - e.lastUsed >= ms);
    for (const e of stale) await this.drop(e.digest);
    return stale.length;
  }

  /** Releases a session now (its model was removed, or the budget needs room). */
  async drop(digest: string): Promise<void> {
    const e = this.entries.get(digest);
    if (!e) return;
    this.entries.delete(digest);
    await e.session.release().catch(() => {});
  }

  /** Bytes of the loaded models. */
  usedBytes(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.bytes;
    return n;
  }

  /** Loaded models with their load counts. */
  info(): ModelInfo[] {
    return [...this.entries.values()].map((e) => ({ digest: e.digest, bytes: e.bytes, loads: this.loads.get(e.digest) ?? 0, lastUsed: new Date(e.lastUsed).toISOString() }));
  }
}
