/** A value loaded from the API and refreshed every few seconds while the page shows it; errors kept beside it. */
export class Polled<T> {
  value = $state<T | undefined>(undefined);
  error = $state<unknown>(null);
  loading = $state(true);
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly everyMs = 5000,
  ) {}

  /** Loads now; resolves when done (never rejects: the error is kept in `error`). */
  async refresh(): Promise<void> {
    try {
      this.value = await this.load();
      this.error = null;
    } catch (err) {
      this.error = err;
    } finally {
      this.loading = false;
    }
  }

  /** Starts loading and refreshing; returns the stop function (for `$effect`). */
  start(): () => void {
    void this.refresh();
    if (this.everyMs > 0) this.timer = setInterval(() => void this.refresh(), this.everyMs);
    return () => clearInterval(this.timer);
  }
}
