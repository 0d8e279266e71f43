/**
 * The one Server-Sent Events helper: follows a gateway stream (run events, log lines) with the browser's
 * EventSource, which sends the session cookie and, after a dropped connection, reconnects by itself with
 * `Last-Event-ID`, so nothing is lost or repeated. The caller says when a stream is finished (a run's final
 * event), so a finished stream is not reopened.
 */

export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface Follow {
  close(): void;
}

/**
 * Opens `url` and hands every event of the named types to `onEvent` (data parsed as JSON).
 * @example const f = follow(runEventsUrl(id), ['node.started'], (type, data) => …, { done: (t) => t.startsWith('run.') && t !== 'run.started' });
 */
export function follow(
  url: string,
  types: string[],
  onEvent: (type: string, data: unknown, id: string) => void,
  opts: { done?: (type: string) => boolean; onState?: (s: StreamState) => void } = {},
): Follow {
  const source = new EventSource(url, { withCredentials: true });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    source.close();
    opts.onState?.('closed');
  };
  opts.onState?.('connecting');
  source.onopen = () => opts.onState?.('open');
  // EventSource retries by itself while readyState is CONNECTING; CLOSED means it gave up (a 401, a 404).
  source.onerror = () => {
    if (closed) return;
    if (source.readyState === EventSource.CLOSED) close();
    else opts.onState?.('reconnecting');
  };
  for (const type of types) {
    source.addEventListener(type, (e) => {
      const msg = e as MessageEvent<string>;
      let data: unknown = msg.data;
      try {
        data = JSON.parse(msg.data);
      } catch {
        // Not JSON: handed on as text.
      }
      onEvent(type, data, msg.lastEventId);
      if (opts.done?.(type)) close();
    });
  }
  return { close };
}
