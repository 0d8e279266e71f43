/**
 * The GPU job wire format shared by the gateway and the runner: Redis keys, stream fields and the
 * runner's heartbeat. Bodies travel as raw bytes in stream fields (no base64).
 */

/** Every Redis key of the GPU path under one prefix (`spindle` → `spindle:gpu:jobs`). */
export function gpuKeys(prefix: string) {
  return {
    /** Jobs in (one consumer group, GPU_GROUP); entries are deleted once acknowledged, so XLEN = queued + in progress. */
    jobs: `${prefix}:gpu:jobs`,
    /** Dead letters: a job's fields plus `reason`, `code` (the runner's error code) and `deliveries`. */
    dead: `${prefix}:gpu:dead`,
    /** Hash function → jobs queued or in progress (incremented by enqueue.lua, decremented on ack). */
    depth: `${prefix}:gpu:depth`,
    /** Hash function → GpuFunctionSpec JSON: what the runner should have loaded. */
    functions: `${prefix}:gpu:functions`,
    /** Pub/sub channel: a function's spec changed (message: its name). */
    deploys: `${prefix}:gpu:deploys`,
    /** The runner's heartbeat (RunnerStatus JSON, expires when the runner stops refreshing it). */
    heartbeat: `${prefix}:gpu:runner`,
    /**
     * A random value the first gateway sets (no TTL): gone or changed means Redis lost its data (restarted
     * without persistence, flushed), and with it every queued job; enqueue.lua only queues under the epoch
     * the gateway knows.
     */
    epoch: `${prefix}:gpu:epoch`,
    /** One reply stream per gateway. */
    replies: (gatewayId: string) => `${prefix}:gpu:replies:${gatewayId}`,
  };
}

/** The runners' consumer group on the jobs stream. */
export const GPU_GROUP = 'runners';

/** A job as the runner reads it. Stream fields: id, call, fn, reply, deadline, ct, body. */
export interface GpuJob {
  /** Stream entry id. */
  entry: string;
  /** Job id, unique per enqueue: the reply carries it back. */
  id: string;
  /** The caller's X-Call-Id (not necessarily unique). */
  callId: string;
  fn: string;
  /** Reply stream key. */
  reply: string;
  /** Epoch ms after which the caller has given up. */
  deadline: number;
  contentType: string;
  body: Buffer;
}

/** A reply. Stream fields: id, status, ct, body, and code on errors. */
export interface GpuReply {
  id: string;
  status: number;
  contentType: string;
  body: Buffer;
  code?: string;
}

/** Progress reported by a running job, sent on the same reply stream ahead of its reply. Stream fields: id, progress, message. */
export interface GpuProgress {
  /** Job id. */
  id: string;
  /** In [0, 1]. */
  fraction: number;
  message: string | null;
}

/** What the gateway asks the runner to load for a function (the value in the `functions` hash). */
export interface GpuFunctionSpec {
  name: string;
  version: number;
  /** Absolute path of the function's bundle (ESM, `export default defineGpuFunction(...)`). */
  bundlePath: string;
  /** Model digest (`sha256:hex`) → absolute path of the .onnx file. */
  models: Record<string, string>;
  timeoutMs: number;
  /** Where GPU handlers read and write artifacts (`ctx.artifacts`): the deploying gateway's `/internal/artifacts` and its token. */
  artifacts?: ArtifactsEndpoint;
}

/** A gateway's artifact API as the GPU runner reaches it (the runner runs beside the gateway, as bundle paths already assume). */
export interface ArtifactsEndpoint {
  url: string;
  token: string;
}

/** The runner's heartbeat, also served at GET /system/runner. */
export interface RunnerStatus {
  id: string;
  pid: number;
  startedAt: string;
  at: string;
  ep: 'cuda' | 'cpu';
  device: string;
  epReason: string;
  workers: number;
  functions: Array<{ name: string; version: number; models: string[]; batch: { maxSize: number; maxDelayMs: number } | null; state: string }>;
  models: Array<{ digest: string; bytes: number; loads: number; lastUsed: string }>;
  memory: { rssBytes: number; heapBytes: number; modelBytes: number; budgetBytes: number };
  queue: { local: number; inFlight: number };
  batches: { count: number; items: number; meanSize: number; maxSize: number; sizes: Record<string, number> };
  jobs: Record<string, number>;
}

/** Flattens a Redis field/value array (strings or buffers) into a map of buffers. */
export function fieldsOf(raw: Array<Buffer | string>): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const v = raw[i + 1];
    out.set(raw[i].toString(), Buffer.isBuffer(v) ? v : Buffer.from(v));
  }
  return out;
}

/** Parses one jobs-stream entry; null when a field is missing (such an entry is dead-lettered). */
export function decodeJob(entry: string, raw: Array<Buffer | string>): GpuJob | null {
  const f = fieldsOf(raw);
  const id = f.get('id')?.toString();
  const fn = f.get('fn')?.toString();
  const reply = f.get('reply')?.toString();
  if (!id || !fn || !reply) return null;
  return { entry, id, callId: f.get('call')?.toString() ?? id, fn, reply, deadline: Number(f.get('deadline')?.toString() ?? 0), contentType: f.get('ct')?.toString() ?? 'application/octet-stream', body: f.get('body') ?? Buffer.alloc(0) };
}

/** The XADD field list of a reply. */
export function encodeReply(r: GpuReply): Array<string | Buffer> {
  const out: Array<string | Buffer> = ['id', r.id, 'status', String(r.status), 'ct', r.contentType, 'body', r.body];
  if (r.code) out.push('code', r.code);
  return out;
}

/** The XADD field list of a progress entry (told apart from a reply by its `progress` field). */
export function encodeProgress(p: GpuProgress): Array<string | Buffer> {
  const out: Array<string | Buffer> = ['id', p.id, 'progress', String(p.fraction)];
  if (p.message !== null) out.push('message', p.message);
  return out;
}

/** Parses one reply-stream entry: a progress report or the job's reply. */
export function decodeReplyEntry(raw: Array<Buffer | string>): { progress: GpuProgress } | { reply: GpuReply } {
  const f = fieldsOf(raw);
  const progress = f.get('progress');
  if (progress) return { progress: { id: f.get('id')?.toString() ?? '', fraction: Number(progress.toString()) || 0, message: f.get('message')?.toString() ?? null } };
  return { reply: decodeReply(raw) };
}

/** Parses one reply-stream entry. */
export function decodeReply(raw: Array<Buffer | string>): GpuReply {
  const f = fieldsOf(raw);
  return {
    id: f.get('id')?.toString() ?? '',
    status: Number(f.get('status')?.toString() ?? 500),
    contentType: f.get('ct')?.toString() ?? 'application/octet-stream',
    body: f.get('body') ?? Buffer.alloc(0),
    code: f.get('code')?.toString(),
  };
}
