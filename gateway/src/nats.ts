/**
 * A NATS connection that may not exist yet. The gateway must start and serve synchronous calls while
 * NATS is down, and pick NATS up by itself once it answers: `current()` is null until then.
 */
import { EventEmitter } from 'node:events';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { UnavailableError } from './errors.ts';

export class NatsLink extends EventEmitter {
  #nc: NatsConnection | null = null;
  /** Between a 'disconnect' and the 'reconnect' of the same connection (nats.js buffers, then times out). */
  #down = false;
  #closed = false;
  #loop: Promise<void> | null = null;
  #firstAttempt: Promise<void>;
  #resolveFirst!: () => void;

  constructor(
    readonly url: string,
    private readonly logger: Logger,
    private readonly retryMs = 1000,
  ) {
    super();
    this.setMaxListeners(0);
    this.#firstAttempt = new Promise((r) => (this.#resolveFirst = r));
  }

  /** Starts connecting; resolves after the first attempt, connected or not (the loop goes on in the background). */
  ready(): Promise<void> {
    this.#loop ??= this.#run();
    return this.#firstAttempt;
  }

  /** The live connection, or null while NATS is unreachable. */
  current(): NatsConnection | null {
    return this.#nc && !this.#down && !this.#nc.isClosed() ? this.#nc : null;
  }

  /** The live connection, or a 503 that names NATS. */
  require(what: string): NatsConnection {
    const nc = this.current();
    if (!nc) throw new UnavailableError(`${what} needs NATS, which is not reachable at ${this.url}; the gateway keeps retrying`, 5);
    return nc;
  }

  async #run(): Promise<void> {
    let warned = false;
    while (!this.#closed) {
      try {
        // nats.js reconnects by itself once connected; this loop only covers the first connection
        // and a connection that gave up (closed) after its reconnect attempts ran out.
        const nc = await connect({ servers: this.url, name: 'spindle-gateway', reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: this.retryMs, timeout: 2000 });
        if (this.#closed) {
          await nc.close();
          break;
        }
        this.#nc = nc;
        this.#down = false;
        warned = false;
        this.logger.info({ url: this.url }, 'connected to NATS');
        this.emit('connect', nc);
        this.#resolveFirst();
        void (async () => {
          for await (const s of nc.status()) {
            if (s.type === 'disconnect') {
              this.#down = true;
              this.logger.warn({ url: this.url }, 'NATS disconnected; reconnecting');
            }
            if (s.type === 'reconnect') {
              this.#down = false;
              this.logger.info({ url: this.url }, 'NATS reconnected');
              this.emit('reconnect', nc);
            }
          }
        })().catch(() => {});
        await nc.closed();
        this.#nc = null;
        if (!this.#closed) this.emit('lost');
      } catch (err) {
        if (!warned) this.logger.warn({ url: this.url, err: (err as Error).message }, 'NATS is not reachable; async invocations and run events answer 503 until it is');
        warned = true;
        this.#resolveFirst();
        await new Promise((r) => setTimeout(r, this.retryMs));
      }
    }
  }

  /** Drains and closes the connection and stops retrying. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const nc = this.#nc;
    this.#nc = null;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
    this.#resolveFirst();
  }
}
