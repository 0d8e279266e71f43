/** The storage capabilities the gateway needs: a SQL database and a blob store. One interface each. */
import type { Readable } from 'node:stream';
import type pg from 'pg';

/** A Postgres database reached through `pg` (the machine's Postgres, or embedded PGlite over the wire protocol). */
export interface Database {
  /** A `pg` pool whose connections use this database's schema as search_path. */
  readonly pool: pg.Pool;
  /** A connection string a second process could use (the embedded server's loopback address included). */
  readonly url: string;
  /** The schema the tables live in (`public` unless a test isolates itself). */
  readonly schema: string;
  /** Resolves once the database answers and migrations have run. */
  ready(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Bytes `start` to `end` of a blob, both included (HTTP's `Range: bytes=start-end`). */
export interface ByteRange {
  start: number;
  end: number;
}

/** Bytes by key. Keys are slash-separated and validated: no `..`, no leading `/`, no backslash. */
export interface BlobStore {
  ready(): Promise<void>;
  put(key: string, data: Buffer | Readable, size?: number): Promise<void>;
  /** The bytes, or null when the key does not exist. */
  get(key: string): Promise<Buffer | null>;
  has(key: string): Promise<boolean>;
  /** The blob's size in bytes, or null when the key does not exist. */
  size(key: string): Promise<number | null>;
  /**
   * The bytes as a stream, or null when the key does not exist; with `range`, only bytes `start..end`
   * (inclusive, as in an HTTP `Range`; the caller keeps them within the size). Nothing is held in memory.
   */
  stream(key: string, range?: ByteRange): Promise<Readable | null>;
  delete(key: string): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** A stored deployment: the OpenFaaS deploy request (secrets by name only) and bookkeeping. */
export interface DeploymentRecord {
  name: string;
  /** The deploy request as received, minus `namespace`. Never holds secret values. */
  spec: import('@spindle/schemas').DeployRequest;
  version: number;
  /** Replica count asked for by scale-function; null means "use com.openfaas.scale.min". */
  replicas: number | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The little of a logger the stores use; a pino logger fits. */
export interface StoreLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}
