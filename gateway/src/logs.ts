/** Function logs: the lines replicas print, kept in a ring per function and fanned out to followers. */
import { EventEmitter } from 'node:events';

/** One log line in OpenFaaS's `/system/logs` shape. */
export interface LogEntry {
  name: string;
  namespace: string;
  instance: string;
  timestamp: string;
  text: string;
}

/** Keeps the last `perFunction` lines of each function and notifies followers of new ones. */
export class LogHub {
  private readonly rings = new Map<string, LogEntry[]>();
  private readonly events = new EventEmitter();
  constructor(private readonly perFunction = 2000) {
    this.events.setMaxListeners(0);
  }

  /** Records a line printed by `instance` of function `name`. */
  push(name: string, instance: string, text: string): void {
    const entry: LogEntry = { name, namespace: 'openfaas-fn', instance, timestamp: new Date().toISOString(), text };
    let ring = this.rings.get(name);
    if (!ring) {
      ring = [];
      this.rings.set(name, ring);
    }
    ring.push(entry);
    if (ring.length > this.perFunction) ring.splice(0, ring.length - this.perFunction);
    this.events.emit(name, entry);
  }

  /** Lines kept for `name`, newest last, at most `tail` (all when tail < 0), none before `since`. */
  history(name: string, tail = -1, since?: Date): LogEntry[] {
    let lines = this.rings.get(name) ?? [];
    if (since) lines = lines.filter((l) => new Date(l.timestamp) >= since);
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
