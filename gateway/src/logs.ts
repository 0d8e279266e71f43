/** Function logs: the lines replicas print, kept in a ring per function and fanned out to followers. */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';

/**
 * One log line in OpenFaaS's `/system/logs` shape, plus `cursor`: where a follower that lost its connection
 * resumes (`after=<cursor>`), receiving every later line once (faas-cli ignores the extra field).
 */
export interface LogEntry {
  name: string;
  namespace: string;
  instance: string;
  timestamp: string;
  text: string;
  cursor: string;
}

/** Which kept lines `history` returns. */
export interface HistoryQuery {
  /** At most the last `tail` lines (all when absent or negative). */
  tail?: number;
  /** None before this time. */
  since?: Date;
  /** Only lines after the one with this cursor (see `LogHub.isCursor`). */
  after?: string;
}

const CURSOR = /^([0-9a-f]{8})-(\d{1,15})$/;

/** Keeps the last `perFunction` lines of each function and notifies followers of new ones. */
export class LogHub {
  private readonly rings = new Map<string, LogEntry[]>();
  private readonly events = new EventEmitter();
  /**
   * Names this hub in its cursors: the lines live in memory, so a cursor from another hub (this gateway
   * before a restart) names no kept line, and every kept line is new to its follower.
   */
  private readonly epoch = randomBytes(4).toString('hex');
  private seq = 0;
  constructor(private readonly perFunction = 2000) {
    this.events.setMaxListeners(0);
  }

  /** Records a line printed by `instance` of function `name`. */
  push(name: string, instance: string, text: string): void {
    const cursor = `${this.epoch}-${++this.seq}`;
    const entry: LogEntry = { name, namespace: 'openfaas-fn', instance, timestamp: new Date().toISOString(), text, cursor };
    let ring = this.rings.get(name);
    if (!ring) {
      ring = [];
      this.rings.set(name, ring);
    }
    ring.push(entry);
    if (ring.length > this.perFunction) ring.splice(0, ring.length - this.perFunction);
    this.events.emit(name, entry);
  }

  /** True for a well-formed cursor (of this hub or another). */
  static isCursor(value: string): boolean {
    return CURSOR.test(value);
  }

  /** Lines kept for `name`, oldest first: after `after`, none before `since`, the last `tail`. */
  history(name: string, query: HistoryQuery = {}): LogEntry[] {
    let lines = this.rings.get(name) ?? [];
    const after = query.after === undefined ? undefined : CURSOR.exec(query.after);
    if (after?.[1] === this.epoch) {
      const seq = Number(after[2]);
      lines = lines.filter((l) => Number(CURSOR.exec(l.cursor)![2]) > seq);
    }
    const since = query.since;
    if (since) lines = lines.filter((l) => new Date(l.timestamp) >= since);
    const tail = query.tail ?? -1;
    return tail >= 0 ? lines.slice(Math.max(0, lines.length - tail)) : lines.slice();
  }

  /** Calls `fn` for each new line of `name`; returns the unsubscribe function. */
  follow(name: string, fn: (entry: LogEntry) => void): () => void {
    this.events.on(name, fn);
    return () => this.events.off(name, fn);
  }

  /** Forgets a removed function's lines. */
  drop(name: string): void {
    this.rings.delete(name);
  }
}
