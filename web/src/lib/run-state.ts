/**
 * A run's live state, folded from its record (GET /runs/ID) and its events (SSE): per node the status,
 * attempts, timings, progress and retries. Pure functions, so the run page and its tests share them.
 */
import type { RunDetail, RunEvent, RunStatus } from './types.ts';

export interface NodeState {
  status: string;
  attempts: number;
  startedAt?: number;
  finishedAt?: number;
  durationMs?: number;
  progress?: number;
  message?: string;
  error?: string;
  output?: unknown;
  retries: Array<{ at: number; attempt: number; error: string; delayMs?: number }>;
  /** When the event that set the status was written by the gateway (ISO), for the delay figure. */
  eventAt?: string;
}

export interface RunState {
  status: RunStatus | string;
  nodes: Record<string, NodeState>;
  lastSeq: number;
  startedAt?: number;
  finishedAt?: number;
}

const FINAL = new Set(['run.succeeded', 'run.failed', 'run.cancelled']);
/** True for the event that ends a run's stream. */
export const isFinal = (type: string): boolean => FINAL.has(type);
/** Every event type of a run's stream. */
export const RUN_EVENT_TYPES = ['run.started', 'run.resumed', 'node.started', 'node.progress', 'node.retrying', 'node.succeeded', 'node.failed', 'node.skipped', 'run.succeeded', 'run.failed', 'run.cancelled'];

const ms = (t: string | null | undefined) => (t ? new Date(t).getTime() : undefined);
const blank = (): NodeState => ({ status: 'pending', attempts: 0, retries: [] });

/** The state a run's record gives (what happened before the page opened). */
export function fromRecord(run: RunDetail, nodeIds: string[]): RunState {
  const nodes: Record<string, NodeState> = {};
  for (const id of nodeIds) nodes[id] = blank();
  for (const n of run.nodes ?? []) {
    nodes[n.node] = {
      ...(nodes[n.node] ?? blank()),
      status: n.status,
      attempts: n.attempts,
      startedAt: ms(n.startedAt),
      finishedAt: ms(n.finishedAt),
      durationMs: n.durationMs ?? undefined,
      output: n.output ?? undefined,
      error: n.error ?? undefined,
    };
  }
  return { status: run.status, nodes, lastSeq: 0, startedAt: ms(run.startedAt) ?? ms(run.createdAt), finishedAt: ms(run.finishedAt) };
}

/** Folds one event into the state (a new object: the page re-renders from it). Events at or below lastSeq are ignored. */
export function apply(state: RunState, e: RunEvent): RunState {
  if (e.seq <= state.lastSeq) return state;
  const next: RunState = { ...state, nodes: { ...state.nodes }, lastSeq: e.seq };
  const at = new Date(e.at).getTime();
  const data = (e.data ?? {}) as Record<string, unknown>;
  if (e.type.startsWith('run.')) {
    if (e.type === 'run.started' || e.type === 'run.resumed') {
      next.status = 'running';
      next.startedAt ??= at;
    } else {
      next.status = e.type.slice(4);
      next.finishedAt = at;
    }
    return next;
  }
  if (!e.node) return next;
  const n: NodeState = { ...(next.nodes[e.node] ?? blank()) };
  n.retries = [...n.retries];
  switch (e.type) {
    case 'node.started':
      n.status = 'running';
      n.startedAt ??= at;
      n.attempts = Math.max(n.attempts, 1);
      break;
    case 'node.progress':
      if (typeof data.fraction === 'number') n.progress = data.fraction;
      if (typeof data.message === 'string') n.message = data.message;
      return { ...next, nodes: { ...next.nodes, [e.node]: n } };
    case 'node.retrying':
      n.status = 'retrying';
      n.attempts = Number(data.attempt ?? n.attempts) || n.attempts;
      n.retries.push({ at, attempt: Number(data.attempt ?? 0), error: String(data.error ?? ''), delayMs: typeof data.delayMs === 'number' ? data.delayMs : undefined });
      break;
    case 'node.succeeded':
    case 'node.failed':
    case 'node.skipped':
      n.status = e.type.slice(5);
      n.finishedAt = at;
      if (typeof data.attempts === 'number') n.attempts = data.attempts;
      if (typeof data.durationMs === 'number') n.durationMs = data.durationMs;
      if (typeof data.error === 'string') n.error = data.error;
      if (e.type === 'node.skipped' && typeof data.reason === 'string') n.message = data.reason;
      if (e.type === 'node.succeeded') n.progress = 1;
      break;
  }
  n.eventAt = e.at;
  next.nodes[e.node] = n;
  return next;
}

/** A stored key with a media extension (`runs/abc/voice.wav`): what a node's artifacts look like in its output. */
const MEDIA_KEY = /^[\w-]+(\/[\w.-]+)*\.(png|jpe?g|gif|webp|avif|wav|mp3|ogg|oga|flac|m4a|opus|mp4|webm|mov|mkv)$/i;

/** Strings in a value that name stored artifacts (`uploads/…` from POST /artifacts, or a key with a media extension). */
export function artifactKeys(value: unknown, found = new Set<string>()): string[] {
  const stack: unknown[] = [value];
  let budget = 10_000;
  while (stack.length && budget-- > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.length < 512 && !v.includes('..') && (/^uploads\/[\w.-]+$/.test(v) || MEDIA_KEY.test(v))) found.add(v);
    } else if (Array.isArray(v)) stack.push(...v);
    else if (v && typeof v === 'object') stack.push(...Object.values(v));
  }
  return [...found];
}
