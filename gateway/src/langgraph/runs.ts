/**
 * LangGraph Platform runs: create (background), wait, stream, get, list, join, joinStream and cancel, threadless
 * (`/runs/…`) and on a thread (`/threads/ID/runs/…`), over the executor and run events of `/graphs/NAME/runs`.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { LANGGRAPH_STREAM_MODES } from '@spindle/schemas';
import { BadRequestError, ClientClosedError, ConflictError, NotFoundError, UnprocessableError } from '../errors.ts';
import { Followers } from '../follow.ts';
import type { RunRecord } from '../graphs/store.ts';
import { checkRunInput } from '../graphs/run-input.ts';
import { openSse } from '../sse.ts';
import { runRequest, type RunRequest } from './body.ts';
import { findRun, findThread, runsOfThread, type LanggraphDeps } from './deps.ts';
import { runError, RunTranslator, type StreamMode } from './stream.ts';
import { isUuid } from './threads-store.ts';
import { findAssistant, runLocation, runView, SPINDLE_STATUS } from './views.ts';

/** Run statuses that end a run. */
const FINISHED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);
/** How long `runs.wait` and `join` wait in memory for a run this gateway executes (as `?wait=true` at most). */
const MAX_WAIT_MS = 3_600_000;
/** Event numbers are a Postgres int: a larger Last-Event-ID names no event. */
const MAX_EVENT_SEQ = 2_147_483_647;

type ThreadParams = { Params: { threadId: string } };
type RunParams = { Params: { threadId: string; runId: string } };

/** The stream modes of a joinStream query (`?stream_mode=values&stream_mode=updates`; default `values`); 422 for a mode Spindle does not stream. */
function queryModes(url: string): StreamMode[] {
  const given = new URLSearchParams(url.split('?')[1] ?? '').getAll('stream_mode');
  for (const m of given) {
    if (!(LANGGRAPH_STREAM_MODES as readonly string[]).includes(m)) throw new UnprocessableError(`query "stream_mode" must be one of ${LANGGRAPH_STREAM_MODES.join(', ')}, got ${JSON.stringify(m.slice(0, 40))}`);
  }
  return given.length ? [...new Set(given as StreamMode[])] : ['values'];
}

/** The event number a resuming client sends as Last-Event-ID (0: from the start). */
function lastEventId(req: FastifyRequest): number {
  const raw = req.headers['last-event-id'];
  if (raw === undefined || raw === '') return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > MAX_EVENT_SEQ) throw new BadRequestError(`Last-Event-ID must be an event number from 0 to ${MAX_EVENT_SEQ}`);
  return n;
}

export function runRoutes(deps: LanggraphDeps): FastifyPluginAsync {
  const { executor, runs, events, threads, states } = deps;

  /** Starts the run a request asks for: on `threadId` (null: threadless), after checking the assistant, the input and the thread. */
  async function start(threadId: string | null, body: unknown): Promise<{ run: RunRecord; req: RunRequest }> {
    const req = runRequest(body);
    const graph = await findAssistant(deps.graphs, req.assistant_id);
    const input = req.input ?? null;
    try {
      checkRunInput(graph.definition, input);
    } catch (err) {
      if (err instanceof BadRequestError) throw new UnprocessableError(err.message, err);
      throw err;
    }
    let thread = threadId;
    if (threadId !== null) {
      const found = await threads.get(threadId);
      if (!found) {
        if (req.if_not_exists !== 'create') throw new NotFoundError(`thread "${threadId.slice(0, 100)}" not found`);
        if (!isUuid(threadId)) throw new UnprocessableError('the thread id must be a UUID to be created with if_not_exists "create"');
        await threads.create(threadId, { graph_id: graph.name });
      } else if (found.lastRunStatus === 'queued' || found.lastRunStatus === 'running') {
        if (req.multitask_strategy !== 'interrupt') throw new ConflictError(`thread "${threadId}" is busy with a run; wait for it, or send multitask_strategy "interrupt"`);
        for (const r of await runs.ofThread(threadId, { limit: 100, status: found.lastRunStatus })) await executor.cancel(r.id).catch(() => {});
      }
    } else if (req.on_completion === 'keep') {
      // A threadless run that keeps its thread: LangGraph Platform keeps the temporary thread it ran on.
      thread = randomUUID();
      await threads.create(thread, { graph_id: graph.name });
    }
    const run = await executor.start(graph.name, input, { ...(thread !== null && { threadId: thread }), ...(req.metadata && { metadata: req.metadata }) });
    if (thread !== null) await threads.touch(thread);
    return { run, req };
  }

  /**
   * Resolves with the run once it has ended (its final event is stored). A run this gateway executes is awaited
   * in memory, as `?wait=true` does; one another gateway runs is followed through its events, and then a caller
   * that leaves first ends the wait.
   */
  async function ended(runId: string, reply: FastifyReply): Promise<RunRecord> {
    const local = await executor.wait(runId, MAX_WAIT_MS);
    if (FINISHED.has(local.status)) return local;
    return new Promise((resolve, reject) => {
      const onClose = () => {
        stop();
        reject(new ClientClosedError());
      };
      const stop = events.subscribe(
        runId,
        0,
        () => {},
        () => {
          reply.raw.off('close', onClose);
          runs.get(runId).then((r) => (r ? resolve(r) : reject(new NotFoundError(`run "${runId}" not found`))), reject);
        },
      );
      reply.raw.once('close', onClose);
    });
  }

  /** What `runs.wait` and `join` answer: the final values, or `__error__` for a run that did not succeed (the SDK raises it). */
  async function outcome(run: RunRecord): Promise<unknown> {
    if (run.status === 'succeeded') return states.recordedValues(run);
    if (run.status === 'failed' || run.status === 'cancelled') return { __error__: runError(run) };
    return states.recordedValues(run);
  }

  return async (app) => {
    const followers = new Followers(app);

    /** Streams `run` as LangGraph SSE parts of `modes`, from after event `after`; `cancelOnDisconnect` cancels the run when the caller leaves early. */
    function stream(req: FastifyRequest, reply: FastifyReply, run: RunRecord, modes: StreamMode[], after: number, cancelOnDisconnect: boolean): void {
      reply.hijack();
      reply.raw.setHeader('content-location', runLocation(run));
      // Where the SDK reconnects (with Last-Event-ID) when the stream drops: the same run, the same modes.
      reply.raw.setHeader('location', `${runLocation(run)}/stream?${new URLSearchParams(modes.map((m) => ['stream_mode', m]))}`);
      const sse = openSse(followers, req.raw, reply.raw, 'spindle langgraph stream');
      if (!sse) return;
      if (after === 0) sse.send({ event: 'metadata', data: JSON.stringify({ run_id: run.id, attempt: 1 }) });
      const translator = new RunTranslator(run, modes, states);
      let finished = false;
      let failed = false;
      // One link per event, each with its own catch: a failed read (a database blip) ends this stream with an
      // error event, never an unhandled rejection, and the links after it do nothing.
      let chain = Promise.resolve();
      const step = (work: () => Promise<void> | void) => {
        chain = chain
          .then(() => (failed ? undefined : work()))
          .catch((err: unknown) => {
            if (failed) return;
            failed = true;
            req.log.error({ err, runId: run.id }, 'streaming a run to a LangGraph client failed');
            sse.send({ event: 'error', data: JSON.stringify({ error: 'InternalError', message: 'the stream failed; the gateway log has the details' }) });
            sse.end();
          });
      };
      const stop = events.subscribe(
        run.id,
        0,
        (e) => {
          // Every event goes through the translator (values build up from the first event); only those after `after` are sent.
          step(async () => {
            const parts = await translator.parts(e);
            if (e.seq > after) for (const p of parts) sse.send({ ...(p.id && { id: p.id }), event: p.event, data: JSON.stringify(p.data) });
          });
        },
        () => {
          finished = true;
          step(() => sse.end());
        },
      );
      sse.onClose(() => {
        stop();
        if (!finished && cancelOnDisconnect) void executor.cancel(run.id).catch(() => {});
      });
    }

    for (const prefix of ['', '/threads/:threadId']) {
      const threadOfReq = (req: FastifyRequest) => (prefix ? (req.params as { threadId: string }).threadId : null);

      app.post(`${prefix}/runs`, async (req, reply) => {
        const { run } = await start(threadOfReq(req), req.body);
        return reply.header('content-location', runLocation(run)).send(runView(run));
      });

      app.post(`${prefix}/runs/wait`, async (req, reply) => {
        const { run } = await start(threadOfReq(req), req.body);
        reply.header('content-location', runLocation(run));
        return reply.send(await outcome(await ended(run.id, reply)));
      });

      app.post(`${prefix}/runs/stream`, async (req, reply) => {
        const { run, req: body } = await start(threadOfReq(req), req.body);
        stream(req, reply, run, body.stream_mode, 0, body.on_disconnect === 'cancel');
      });
    }

    app.get<ThreadParams & { Querystring: { limit?: string; offset?: string; status?: string } }>('/threads/:threadId/runs', async (req) => {
      const limit = req.query.limit === undefined ? 10 : Number(req.query.limit);
      const offset = req.query.offset === undefined ? 0 : Number(req.query.offset);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UnprocessableError('query "limit" must be a whole number from 1 to 1000');
      if (!Number.isInteger(offset) || offset < 0) throw new UnprocessableError('query "offset" must be a whole number from 0');
      const status = req.query.status === undefined ? undefined : SPINDLE_STATUS[req.query.status];
      if (req.query.status !== undefined && !status) throw new UnprocessableError(`query "status" must be one of ${Object.keys(SPINDLE_STATUS).join(', ')}`);
      const thread = await findThread(deps, req.params.threadId);
      return (await runsOfThread(deps, thread, { limit, offset, status })).map(runView);
    });

    app.get<RunParams>('/threads/:threadId/runs/:runId', async (req) => runView(await findRun(deps, req.params.threadId, req.params.runId)));

    app.post<RunParams & { Querystring: { wait?: string; action?: string } }>('/threads/:threadId/runs/:runId/cancel', async (req, reply) => {
      if (req.query.action !== undefined && req.query.action !== 'interrupt') throw new UnprocessableError('query "action" must be "interrupt": Spindle does not roll runs back');
      const run = await findRun(deps, req.params.threadId, req.params.runId);
      await executor.cancel(run.id);
      return reply.code(req.query.wait === '1' || req.query.wait === 'true' ? 204 : 202).send();
    });

    app.get<RunParams>('/threads/:threadId/runs/:runId/join', async (req, reply) => {
      const run = await findRun(deps, req.params.threadId, req.params.runId);
      return outcome(await ended(run.id, reply));
    });

    app.get<RunParams>('/threads/:threadId/runs/:runId/stream', async (req, reply) => {
      const run = await findRun(deps, req.params.threadId, req.params.runId);
      const modes = queryModes(req.url);
      stream(req, reply, run, modes, lastEventId(req), (req.query as { cancel_on_disconnect?: string }).cancel_on_disconnect === '1');
    });

    app.get<{ Params: { runId: string } }>('/runs/:runId/stream', async (req, reply) => {
      const run = await findRun(deps, null, req.params.runId);
      const modes = queryModes(req.url);
      stream(req, reply, run, modes, lastEventId(req), (req.query as { cancel_on_disconnect?: string }).cancel_on_disconnect === '1');
    });
  };
}
