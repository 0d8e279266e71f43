/** Runs one graph node: builds its input, invokes its function (retries, timeout), decodes the answer. */
import { backoffDelay, checkJsonBounds, fieldName, parseFunctionRef, type GraphNode } from '@spindle/schemas';
import { SpindleError } from '../errors.ts';
import type { InvokeResult, Invoker } from '../invoker.ts';

/** Statuses worth another attempt: the function may answer next time. */
const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
/** The longest wait between two attempts of a node. */
const MAX_BACKOFF_MS = 600_000;

/** A node that failed for good; the run fails with its message. */
export class NodeFailedError extends Error {
  constructor(
    readonly node: string,
    message: string,
    readonly attempts: number,
  ) {
    super(`node "${node}" failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${message}`);
    this.name = 'NodeFailedError';
  }
}

/** Decodes a function's answer: JSON when it says so, text for text, `{contentType, base64}` otherwise. */
function decodeOutput(res: InvokeResult): unknown {
  const type = String(res.headers['content-type'] ?? '');
  if (res.body.length === 0) return null;
  if (type.includes('json')) {
    try {
      return JSON.parse(res.body.toString('utf8'));
    } catch {
      return res.body.toString('utf8');
    }
  }
  if (type.startsWith('text/') || type === '') return res.body.toString('utf8');
  return { contentType: type, base64: res.body.toString('base64') };
}

function errorText(res: InvokeResult): string {
  const text = res.body.toString('utf8').slice(0, 500);
  try {
    const parsed = JSON.parse(text);
    if (parsed?.error?.message) return `${res.status}: ${parsed.error.message}`;
  } catch {
    // not JSON
  }
  return `${res.status}: ${text}`;
}

/** What happens around each attempt, for events and records. */
export interface AttemptHooks {
  callId(attempt: number): string;
  onRetry(attempt: number, error: string, delayMs: number): Promise<void>;
}

/** Invokes `node`'s function with `input`, retrying per its `retry` policy; returns the decoded output. */
export async function runNode(
  invoker: Invoker,
  id: string,
  node: GraphNode,
  input: unknown,
  signal: AbortSignal,
  hooks: AttemptHooks,
): Promise<{ output: unknown; attempts: number }> {
  const attempts = node.retry?.attempts ?? 1;
  const backoff = node.retry?.backoffMs ?? 200;
  const body = input === undefined ? undefined : JSON.stringify(input);
  for (let attempt = 1; ; attempt++) {
    let failure: string;
    let retryable: boolean;
    try {
      const res = await invoker.invoke({
        name: parseFunctionRef(node.function).name ?? node.function,
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'application/json' },
        body,
        callId: hooks.callId(attempt),
        signal,
        timeoutMs: node.timeoutMs,
      });
      if (res.status < 300) {
        const output = decodeOutput(res);
        // Outputs are stored, checkpointed and mapped like inputs: the same bounds, before any of that.
        const issue = checkJsonBounds(output);
        if (!issue) return { output, attempts: attempt };
        failure = `output${issue.path ? ` field "${fieldName(issue.path)}"` : ''} ${issue.message}`;
        retryable = false;
      } else {
        failure = errorText(res);
        retryable = RETRYABLE.has(res.status);
      }
    } catch (err) {
      if (signal.aborted) throw err;
      failure = err instanceof SpindleError ? `${err.statusCode}: ${err.message}` : String(err);
      retryable = !(err instanceof SpindleError) || RETRYABLE.has(err.statusCode);
    }
    if (!retryable || attempt >= attempts) throw new NodeFailedError(id, failure, attempt);
    // The shared backoff (equal jitter) keeps retries of parallel runs from arriving together.
    const delay = backoffDelay(attempt, { minMs: backoff, maxMs: MAX_BACKOFF_MS });
    await hooks.onRetry(attempt, failure, delay);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, delay);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
