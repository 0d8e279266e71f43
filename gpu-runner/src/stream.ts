/**
 * The jobs stream, seen from the runner: read, claim, keep alive, answer, dead-letter. Every group
 * command survives a Redis that lost its data (restarted empty, flushed): on NOGROUP the stream and the
 * group are created again and the command retried once.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { GPU_GROUP, decodeJob, encodeProgress, encodeReply, gpuKeys, type GpuJob, type GpuProgress, type GpuReply } from '@spindle/runtime';
import { errorAnswer, type RunnerError } from './errors.ts';

const FINISH = readFileSync(new URL('./finish.lua', import.meta.url), 'utf8');

type RawEntry = [Buffer, Buffer[] | null];

/** A job plus how many times it has been delivered. */
export interface Delivered {
  job: GpuJob | null;
  entry: string;
  raw: Buffer[];
  deliveries: number;
}

export class JobStream {
  readonly keys: ReturnType<typeof gpuKeys>;
  constructor(
    private readonly redis: Redis,
    private readonly reader: Redis,
    prefix: string,
    readonly consumer: string,
    /** Called when a group command found the group gone: Redis lost its data, and the jobs this runner holds with it. */
    private readonly onGroupLost: () => void = () => {},
  ) {
    this.keys = gpuKeys(prefix);
    redis.defineCommand('spindleGpuFinish', { numberOfKeys: 3, lua: FINISH });
  }

  /** Creates the consumer group (from the start of the stream, so jobs queued before any runner existed are served). */
  async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.keys.jobs, GPU_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  /**
   * Runs a group command; when the group is gone (NOGROUP; UNBLOCKED for a read that was blocked when the
   * stream was deleted), creates it again and retries once.
   */
  private async withGroup<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      if (!/NOGROUP|UNBLOCKED/.test(String((err as Error).message))) throw err;
      this.onGroupLost();
      await this.ensureGroup();
      return command();
    }
  }

  /** Blocks up to `blockMs` for new jobs (XREADGROUP ... >). */
  read(count: number, blockMs: number): Promise<Delivered[]> {
    return this.withGroup(() => this.readOnce(count, blockMs));
  }

  private async readOnce(count: number, blockMs: number): Promise<Delivered[]> {
    const res = (await this.reader.callBuffer('XREADGROUP', 'GROUP', GPU_GROUP, this.consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.keys.jobs, '>')) as Array<[Buffer, RawEntry[]]> | null;
    if (!res) return [];
    return res[0][1].map(([id, raw]) => this.delivered(id.toString(), raw ?? [], 1));
  }

  private delivered(entry: string, raw: Buffer[], deliveries: number): Delivered {
    return { job: decodeJob(entry, raw), entry, raw, deliveries };
  }

  /** Takes over jobs idle for `minIdleMs` (their runner died), with their delivery counts. */
  claim(minIdleMs: number, count: number): Promise<Delivered[]> {
    return this.withGroup(() => this.claimOnce(minIdleMs, count));
  }

  private async claimOnce(minIdleMs: number, count: number): Promise<Delivered[]> {
    const out: Delivered[] = [];
    let cursor = '0-0';
    do {
      const res = (await this.redis.callBuffer('XAUTOCLAIM', this.keys.jobs, GPU_GROUP, this.consumer, minIdleMs, cursor, 'COUNT', count)) as [Buffer, RawEntry[], Buffer[]?];
      cursor = res[0].toString();
      const entries = res[1].filter((e): e is [Buffer, Buffer[]] => e[1] !== null);
      if (!entries.length) continue;
      const pipe = this.redis.pipeline();
      for (const [id] of entries) pipe.xpending(this.keys.jobs, GPU_GROUP, id.toString(), id.toString(), 1);
      const counts = (await pipe.exec()) ?? [];
      entries.forEach(([id, raw], i) => {
        const row = (counts[i]?.[1] as Array<[string, string, number, number]> | undefined)?.[0];
        out.push(this.delivered(id.toString(), raw, row ? Number(row[3]) : 1));
      });
    } while (cursor !== '0-0' && out.length < count);
    return out;
  }

  /** Resets the idle time of jobs this runner holds, so a long inference is not mistaken for a dead runner. */
  async refresh(entries: string[]): Promise<void> {
    for (let i = 0; i < entries.length; i += 500) {
      await this.withGroup(() => this.redis.xclaim(this.keys.jobs, GPU_GROUP, this.consumer, 0, ...entries.slice(i, i + 500), 'JUSTID'));
    }
  }

  /** Tells the caller how far its job is (on its reply stream, so it arrives before the reply). */
  async progress(job: { reply?: string }, p: GpuProgress): Promise<void> {
    if (job.reply) await this.redis.xadd(job.reply, 'MAXLEN', '~', '10000', '*', ...encodeProgress(p));
  }

  /**
   * Answers the caller, then acknowledges and deletes the job and lowers its function's depth (finish.lua;
   * the last two only when the ack took). False when the job was no longer pending.
   */
  async finish(job: { entry: string; fn: string; reply?: string }, reply: GpuReply | null): Promise<boolean> {
    const fields = reply && job.reply ? encodeReply(reply) : [];
    const finish = (this.redis as unknown as { spindleGpuFinish(...a: unknown[]): Promise<number> }).spindleGpuFinish;
    const acked = await finish.call(this.redis, this.keys.jobs, this.keys.depth, job.reply || this.keys.jobs, GPU_GROUP, job.entry, job.fn, fields.length ? '1' : '0', ...fields);
    return acked === 1;
  }

  /** Moves a job to the dead-letter stream with why (its message is the entry's `reason`), and tells its caller. */
  async deadLetter(d: Delivered, why: RunnerError): Promise<void> {
    await this.redis.xadd(this.keys.dead, 'MAXLEN', '~', '10000', '*', ...d.raw, 'reason', why.message, 'code', why.code, 'deliveries', String(d.deliveries));
    const fn = d.job?.fn ?? 'unknown';
    await this.finish({ entry: d.entry, fn, reply: d.job?.reply }, d.job ? { id: d.job.id, ...errorAnswer(why) } : null);
  }
}
