/** Database on a Postgres server reached through a `pg` pool. */
import pg from 'pg';
import { MIGRATIONS_DIR, migrate, quoteSchema } from './migrate.ts';
import type { Database, StoreLogger } from './types.ts';

/** Options for PostgresDatabase. */
export interface PostgresDatabaseOptions {
  /** Connection string, e.g. `postgres://postgres@127.0.0.1:5432/spindle`. */
  url: string;
  /** Schema holding the tables (default `public`); created when missing. */
  schema?: string;
  /** Pool size (default 10). */
  max?: number;
  logger?: StoreLogger;
  /** Folder of migration files (default: gateway/migrations). */
  migrationsDir?: string;
}

/**
 * A `pg` pool whose every connection works in one schema, migrated by ready().
 * @example const db = new PostgresDatabase({ url: 'postgres://postgres@127.0.0.1:5432/spindle' }); await db.ready();
 */
export class PostgresDatabase implements Database {
  readonly pool: pg.Pool;
  readonly url: string;
  readonly schema: string;
  readonly #logger: StoreLogger | undefined;
  readonly #migrationsDir: string;
  #ready: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: PostgresDatabaseOptions) {
    this.url = options.url;
    this.schema = options.schema ?? 'public';
    this.#logger = options.logger;
    this.#migrationsDir = options.migrationsDir ?? MIGRATIONS_DIR;
    const setSearchPath = `SET search_path TO ${quoteSchema(this.schema)}`;
    this.pool = new pg.Pool({
      connectionString: this.url,
      max: options.max ?? 10,
      // Awaited before the pool hands the new connection out, and a failure reaches the caller. The
      // older `pool.on('connect')` idiom fires the SET without waiting, which pg 8.23 deprecates.
      onConnect: async (client) => {
        await client.query(setSearchPath);
      },
    });
    // Without a listener, an idle connection dropped by the server would crash the process.
    this.pool.on('error', (err) => this.#logger?.warn({ err }, 'idle postgres connection failed'));
  }

  /** Creates the schema if missing and runs pending migrations; later calls share the first run. */
  ready(): Promise<void> {
    this.#ready ??= migrate(this.pool, this.schema, { dir: this.#migrationsDir, logger: this.#logger }).then(
      () => undefined,
      (err: unknown) => {
        this.#ready = undefined; // let a caller retry once the server answers
        throw err;
      },
    );
    return this.#ready;
  }

  /** Ends the pool; idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.pool.end();
    return this.#closed;
  }
}
