/**
 * The GPU runner's error catalogue. Whatever a job is answered with when it fails is one of these (or a
 * handler's own error with a status, see `asAnswerable`), and `errorAnswer` is the one place that renders
 * it: the status and code go into the reply's fields (runtime/src/gpu-wire.ts), the body is the
 * gateway's `{ "error": { "code", "message" } }`. Codes are stable: callers and tests match on them.
 */

/** Base of the catalogue: an HTTP status for the caller, a stable code, and the cause. */
export class RunnerError extends Error {
  readonly statusCode: number;
  readonly code: string;
  constructor(statusCode: number, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.statusCode = statusCode;
    this.code = code;
  }
}

/** 400: the job's body is not valid JSON, or the function's input schema refuses it. */
export class InvalidJobInputError extends RunnerError {
  constructor(message: string, cause?: unknown) {
    super(400, 'SPINDLE_INVALID_INPUT', message, { cause });
  }
}

/** 400: onnxruntime refused what the handler passed to a model (wrong shape or type): the input's fault. */
export class ModelRejectedInputError extends RunnerError {
  constructor(model: string, cause: unknown) {
    super(400, 'SPINDLE_MODEL_REJECTED_INPUT', `model "${model}" rejected the input: ${firstLines(cause, 2)}`, { cause });
  }
}

/** 404: the job names a function this runner does not hold (never deployed here, or removed since). */
export class FunctionNotLoadedError extends RunnerError {
  constructor(fn: string, why: 'unknown' | 'removed' = 'unknown') {
    super(404, 'SPINDLE_NOT_FOUND', why === 'removed' ? `function "${fn}" was removed` : `function "${fn}" is not loaded in the GPU runner`);
  }
}

/** 500: the function's bundle or one of its models failed to load; its jobs fail until a deploy loads it. */
export class FunctionLoadError extends RunnerError {
  constructor(fn: string, why: string, cause?: unknown) {
    super(500, 'SPINDLE_GPU_LOAD_FAILED', `function "${fn}" failed to load in the GPU runner: ${why}`, { cause });
  }
}

/** Why a version cannot load: its bundle is not a GPU function, or a model it declares was not uploaded with it. */
export class BundleInvalidError extends RunnerError {
  constructor(message: string) {
    super(500, 'SPINDLE_GPU_BUNDLE_INVALID', message);
  }
}

/** 500: onnxruntime could not open a model file (missing, corrupt, an operator this build lacks). */
export class ModelLoadError extends RunnerError {
  constructor(digest: string, path: string, cause: unknown) {
    super(500, 'SPINDLE_GPU_MODEL_LOAD_FAILED', `model ${digest} (${path}) could not be loaded: ${firstLines(cause, 1)}`, { cause });
  }
}

/**
 * 500: the handler failed: it threw an error without a status, returned what its output declaration
 * forbids, or asked for a model it did not declare. The message starts with `handler failed: `.
 */
export class HandlerError extends RunnerError {
  constructor(detail: string, cause?: unknown) {
    super(500, 'SPINDLE_FUNCTION_ERROR', `handler failed: ${detail}`, { cause });
  }
}

/** 502: the inference worker computing the batch died (or none was free); the runner restarts it. */
export class WorkerFailedError extends RunnerError {
  constructor(detail: string, cause?: unknown) {
    super(502, 'SPINDLE_GPU_WORKER_FAILED', `the inference worker failed: ${detail}`, { cause });
  }
}

/** 503: a batch reached a worker that does not hold the version (it is being restarted and reloaded). */
export class VersionNotLoadedError extends RunnerError {
  constructor(key: string) {
    super(503, 'SPINDLE_GPU_NOT_LOADED', `${key} is not loaded in this worker`);
  }
}

/**
 * 400: a jobs-stream entry without the fields of a job (id, fn, reply). Dead-lettered with this as the
 * reason; nobody can be answered (there is no reply stream to answer on).
 */
export class MalformedJobError extends RunnerError {
  constructor(entry: string) {
    super(400, 'SPINDLE_GPU_MALFORMED_JOB', `stream entry ${entry} is not a job (missing id, fn or reply)`);
  }
}

/** 502: a job delivered more than the limit without completing (the runner died computing it each time); dead-lettered. */
export class DeadLetterError extends RunnerError {
  constructor(job: string, fn: string, deliveries: number, deadStream: string) {
    super(
      502,
      'SPINDLE_GPU_DEAD_LETTER',
      `job ${job} of function ${fn} was delivered ${deliveries} times without completing (the runner died while computing it each time); moved to ${deadStream}`,
    );
  }
}

/** A runner setting (SPINDLE_GPU_*) that cannot be used; the process stops with it before serving anything. */
export class RunnerConfigError extends RunnerError {
  constructor(message: string) {
    super(500, 'SPINDLE_GPU_CONFIG', message);
  }
}

/** What `errorAnswer` renders: a RunnerError, or any error carrying a 4xx/5xx `statusCode` and a `code`. */
export interface Answerable {
  statusCode: number;
  code: string;
  message: string;
}

/**
 * A handler's error as the runner answers it. An error with a 4xx/5xx `statusCode` keeps it: a RunnerError,
 * or the runtime's HttpError, recognised by shape since a bundle carries its own copy of the runtime's
 * classes. Anything else is a HandlerError.
 */
export function asAnswerable(err: unknown): Answerable {
  if (err instanceof RunnerError) return err;
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown } | null | undefined;
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 600) {
    return { statusCode: e.statusCode, code: typeof e.code === 'string' ? e.code : 'SPINDLE_FUNCTION_ERROR', message: String(e.message) };
  }
  return new HandlerError(String(e?.message ?? err), err);
}

/** A failed job's answer: status, code, and `{ "error": { "code", "message" } }` as JSON. */
export function errorAnswer(err: Answerable): { status: number; code: string; contentType: string; body: Buffer } {
  const { statusCode: status, code, message } = err;
  return { status, code, contentType: 'application/json; charset=utf-8', body: Buffer.from(JSON.stringify({ error: { code, message } })) };
}

/** The first `n` lines of an error's message, joined by spaces (onnxruntime appends a C++ trace). */
function firstLines(err: unknown, n: number): string {
  return String((err as Error | undefined)?.message ?? err)
    .split('\n')
    .slice(0, n)
    .join(' ');
}
