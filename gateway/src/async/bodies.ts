/**
 * Bodies too large for a NATS message (the server's max_payload, 1 MiB by default, against a body limit of
 * 32 MiB) go to the blob store; the message carries their key. Blobs nobody deletes on the way (stored
 * results, dead letters' requests) get a delayed deletion on the GC subject, run by any queue worker.
 */
import type { JsMsg } from '@nats-io/jetstream';
import type { BlobStore } from '../store/index.ts';
import { pack } from './envelope.ts';
import type { AsyncContext, AsyncLink } from './link.ts';

/** A delayed blob deletion. */
interface GcOrder {
  key: string;
  /** Epoch ms. */
  at: number;
}

/** Request and result bodies: inline in the envelope, or in the blob store with a (delayed) deletion. */
export class Bodies {
  constructor(
    private readonly link: AsyncLink,
    private readonly blobs: BlobStore,
  ) {}

  /**
   * Packs `meta` with `body`, or, when the envelope would not fit in a message, stores `body` under `key`
   * first and packs `meta` with `setKey(key)` applied and no body.
   */
  async pack<T extends object>(ctx: AsyncContext, meta: T, body: Buffer, key: string, setKey: (meta: T, key: string) => T): Promise<{ data: Uint8Array; spilled: boolean }> {
    const packed = pack(meta, body);
    if (packed.length <= ctx.spillAbove) return { data: packed, spilled: false };
    await this.blobs.put(key, body, body.length);
    return { data: pack(setKey(meta, key), Buffer.alloc(0)), spilled: true };
  }

  /** The body of an envelope: inline, or from the blob store (null when that blob is gone). */
  async body(inline: Buffer, key: string | undefined): Promise<Buffer | null> {
    return key ? this.blobs.get(key) : inline;
  }

  /** Deletes a blob now; failures only cost space. */
  async delete(key: string | undefined): Promise<void> {
    if (key) await this.blobs.delete(key).catch(() => {});
  }

  /** Deletes `key` at `at` (epoch ms), through the GC subject, so a restart does not forget it. */
  async deleteAt(ctx: AsyncContext, key: string, at: number): Promise<void> {
    const order: GcOrder = { key, at };
    await ctx.js.publish(this.link.names.gcSubject, JSON.stringify(order));
  }

  /** Handles one GC message: deletes its blob when due, else puts it back until then. */
  async collect(m: JsMsg): Promise<void> {
    let order: GcOrder;
    try {
      order = m.json<GcOrder>();
    } catch {
      return m.term('not a GC order');
    }
    const wait = order.at - Date.now();
    if (wait > 0) return m.nak(wait);
    await this.blobs.delete(order.key).catch(() => {});
    m.ack();
  }
}
