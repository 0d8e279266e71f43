/**
 * Pacing for a loop that retries a failing call (a stream reader while Redis is away or its stream was
 * lost): the wait doubles up to a cap, and the warning is logged on the first failure, then at most once
 * per `warnEveryMs` with how many failures it stands for, so an outage of hours writes a few lines.
 */
export class RetryPacer {
  private failures = 0;
  private unlogged = 0;
  private lastWarn = 0;
  private since = 0;

  constructor(private readonly opts: { minMs?: number; maxMs?: number; warnEveryMs?: number } = {}) {}

  /**
   * Records a failure; returns how long to wait before the next try, and whether to log now (with the
   * failures since the last log line, and for how long the call has been failing).
   * @example
   * const { delayMs, log, failures, failingMs } = pacer.failed();
   * if (log) logger.warn({ err: err.message, failures, failingMs }, 'reading the jobs stream failed; retrying');
   * await sleep(delayMs);
   */
  failed(now = Date.now()): { delayMs: number; log: boolean; failures: number; failingMs: number } {
    if (this.failures === 0) this.since = now;
    const { minMs = 100, maxMs = 5000, warnEveryMs = 30_000 } = this.opts;
    const delayMs = Math.min(maxMs, minMs * 2 ** Math.min(this.failures, 20));
    this.failures++;
    this.unlogged++;
    const log = this.failures === 1 || now - this.lastWarn >= warnEveryMs;
    const failures = this.unlogged;
    if (log) {
      this.lastWarn = now;
      this.unlogged = 0;
    }
    return { delayMs, log, failures, failingMs: now - this.since };
  }

  /** Milliseconds the call has been failing without a success in between (0 when it works). */
  failingFor(now = Date.now()): number {
    return this.failures ? now - this.since : 0;
  }

  /** Records a success; returns the failures it ends (0 when there were none), for one "works again" line. */
  ok(): number {
    const ended = this.failures;
    this.failures = 0;
    this.unlogged = 0;
    this.lastWarn = 0;
    return ended;
  }
}
