/**
 * A replica's own metrics in Prometheus text format. Three series do not justify loading
 * prom-client into every replica: it would add to each cold start.
 */
export class ReplicaMetrics {
  inflight = 0;
  private readonly counts = new Map<number, number>();
  private seconds = 0;

  /** Records one finished request. */
  observe(status: number, seconds: number): void {
    this.counts.set(status, (this.counts.get(status) ?? 0) + 1);
    this.seconds += seconds;
  }

  /** The exposition text served at `/_/metrics`. */
  render(name: string): string {
    const lines = [
      '# HELP spindle_replica_requests_total Requests this replica answered, by status code.',
      '# TYPE spindle_replica_requests_total counter',
    ];
    for (const [code, n] of this.counts) lines.push(`spindle_replica_requests_total{function_name="${name}",code="${code}"} ${n}`);
    lines.push(
      '# HELP spindle_replica_request_seconds_total Time spent answering requests.',
      '# TYPE spindle_replica_request_seconds_total counter',
      `spindle_replica_request_seconds_total{function_name="${name}"} ${this.seconds}`,
      '# HELP spindle_replica_inflight Requests being answered now.',
      '# TYPE spindle_replica_inflight gauge',
      `spindle_replica_inflight{function_name="${name}"} ${this.inflight}`,
    );
    return `${lines.join('\n')}\n`;
  }
}
