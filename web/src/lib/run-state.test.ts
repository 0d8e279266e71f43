/** Folding a run's events into what the run page draws: statuses in order, replays ignored, retries, progress, artifacts. */
import { describe, expect, it } from 'vitest';
import { apply, artifactKeys, fromRecord, isFinal, type RunState } from './run-state.ts';
import type { RunDetail, RunEvent } from './types.ts';

const run: RunDetail = {
  runId: 'r1', graph: 'g', graphVersion: 1, status: 'running', input: {}, output: null, error: null,
  createdAt: '2026-01-01T00:00:00.000Z', startedAt: '2026-01-01T00:00:00.100Z', finishedAt: null,
  nodes: [{ node: 'a', status: 'succeeded', attempts: 1, startedAt: null, finishedAt: null, durationMs: 12, output: { audio: 'runs/r1/voice.wav' }, error: null }],
};
let seq = 0;
const ev = (type: string, node?: string, data?: Record<string, unknown>): RunEvent => ({ seq: ++seq, runId: 'r1', type, node, at: new Date(Date.UTC(2026, 0, 1, 0, 0, 1, seq)).toISOString(), data });

describe('run state', () => {
  it('starts every node of the graph from the record, pending when the record has none', () => {
    const s = fromRecord(run, ['a', 'b']);
    expect(s.nodes.a).toMatchObject({ status: 'succeeded', attempts: 1, durationMs: 12 });
    expect(s.nodes.b).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('follows a node through start, progress, a retry and success, and the run to its end', () => {
    seq = 0;
    let s: RunState = { status: 'queued', nodes: { b: { status: 'pending', attempts: 0, retries: [] } }, lastSeq: 0 };
    s = apply(s, ev('run.started'));
    s = apply(s, ev('node.started', 'b', { function: 'tick' }));
    expect(s.nodes.b.status).toBe('running');
    s = apply(s, ev('node.progress', 'b', { fraction: 0.5, message: 'half' }));
    expect(s.nodes.b).toMatchObject({ status: 'running', progress: 0.5, message: 'half' });
    s = apply(s, ev('node.retrying', 'b', { attempt: 1, error: 'HTTP 503', delayMs: 200 }));
    expect(s.nodes.b).toMatchObject({ status: 'retrying', retries: [{ attempt: 1, error: 'HTTP 503', delayMs: 200 }] });
    const done = ev('node.succeeded', 'b', { attempts: 2, durationMs: 340 });
    s = apply(s, done);
    expect(s.nodes.b).toMatchObject({ status: 'succeeded', attempts: 2, durationMs: 340, progress: 1, eventAt: done.at });
    s = apply(s, ev('run.succeeded'));
    expect(s.status).toBe('succeeded');
    expect(s.finishedAt).toBeGreaterThan(s.startedAt!);
    expect(isFinal('run.succeeded') && isFinal('run.cancelled') && !isFinal('run.started')).toBe(true);
  });

  it('ignores an event it has already applied (a resumed stream repeats nothing, but a replay must not go back)', () => {
    seq = 0;
    const started = ev('node.started', 'b');
    const failed = ev('node.failed', 'b', { error: 'boom', attempts: 3 });
    let s: RunState = { status: 'running', nodes: {}, lastSeq: 0 };
    s = apply(apply(s, started), failed);
    expect(apply(s, started)).toBe(s);
    expect(s.nodes.b).toMatchObject({ status: 'failed', error: 'boom', attempts: 3 });
  });

  it('finds artifact keys in outputs: uploads and media files, nothing else', () => {
    expect(artifactKeys({ a: { audio: 'runs/r1/voice.wav', n: 3, photo: 'uploads/ab12.png' }, list: ['x/y.mp4', 'plain text', '../etc/passwd.png', 'https://cdn.example/x.png'] }).sort()).toEqual(['runs/r1/voice.wav', 'uploads/ab12.png', 'x/y.mp4']);
  });
});
