/** Database on embedded PGlite, served over the Postgres wire protocol so the same `pg` code runs. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
// Types only: PGlite (WASM, ~20 MB once loaded) is imported when an embedded database starts, not by every gateway.
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type pg from 'pg';
import { inheritedEnv } from '../child-env.ts';
import { makePrivate, PRIVATE_DIR } from '../data-dir.ts';
import { quoteSchema } from './migrate.ts';
import { PostgresDatabase } from './postgres.ts';
import type { Database, StoreLogger } from './types.ts';

/**
 * How many sockets the server accepts. PGlite runs one statement at a time whatever this is; the
 * multiplexer interleaves sockets between statements and gives a socket exclusive use while it holds
 * a transaction open. A client past the limit is refused with a non-protocol reply, so keep this
 * above the pool size to leave room for a second pool or a psql session.
 */
const MAX_CONNECTIONS = 32;

/**
 * Postgres settings on top of PGlite's defaults. The buffer pool lives in PGlite's WASM memory, which never
 * shrinks, and Postgres touches all of it at start: its default 128 MB was ~120 MB of the gateway's RSS for
 * tables that hold a few megabytes, with the OS page cache behind the pool anyway.
 */
const SETTINGS = ['shared_buffers=16MB'];

const execFileAsync = promisify(execFile);

/**
 * Creates a new data dir in a throwaway process. PGlite runs initdb in a second WASM instance and copies its
 * result through memory; done in the gateway, that memory stayed held for good (about 400 MB more RSS after a
 * first start than after opening the same dir again). Costs a few seconds, once per data dir.
 */
async function initDataDir(location: string): Promise<void> {
  // CommonJS entry: `-e` code cannot resolve packages from here, so it gets a path.
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const script = `require(${JSON.stringify(entry)}).PGlite.create(process.argv[1]).then((db) => db.close()).catch((err) => { console.error(err); process.exit(1); });`;
  try {
    await execFileAsync(process.execPath, ['-e', script, location], { env: inheritedEnv(), maxBuffer: 1024 * 1024 });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`could not create the embedded database in ${location}${stderr ? `: ${stderr.split('\n').slice(0, 5).join(' ')}` : ''}`, { cause: err });
  }
}

/** Options for EmbeddedDatabase. */
export interface EmbeddedDatabaseOptions {
  /** Folder for the data (PGlite lives in `<dataDir>/pglite`); null keeps everything in memory. */
  dataDir: string | null;
  /** Schema holding the tables (default `public`). One schema per embedded server: see `pool`. */
  schema?: string;
  /** Pool size (default 1: see the constructor). */
  max?: number;
  logger?: StoreLogger;
}

/**
 * PGlite behind a loopback PGLiteSocketServer, used through a PostgresDatabase pointed at it.
 * @example const db = new EmbeddedDatabase({ dataDir: '.spindle' }); await db.ready(); await db.pool.query('select 1');
 */
export class EmbeddedDatabase implements Database {
  readonly dataDir: string | null;
  readonly schema: string;
  readonly #max: number;
  readonly #logger: StoreLogger | undefined;
  #pglite: PGlite | undefined;
  #server: PGLiteSocketServer | undefined;
  #inner: PostgresDatabase | undefined;
  #ready: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: EmbeddedDatabaseOptions) {
    this.dataDir = options.dataDir;
    this.schema = options.schema ?? 'public';
    quoteSchema(this.schema); // fail at construction, as PostgresDatabase does
    // One connection by default: PGlite has a single backend, and the socket multiplexer interleaves
    // extended-protocol messages of concurrent sockets, so one socket's unnamed prepared statement can be
    // replaced by another's between Parse and Bind ("unnamed prepared statement does not exist", seen
    // with parallel graph nodes). A single pooled connection queues statements in `pg` instead.
    this.#max = Math.min(options.max ?? 1, MAX_CONNECTIONS - 2);
    this.#logger = options.logger;
  }

  /**
   * The pool (available after ready()). Every socket shares PGlite's single session, so a `SET` on one
   * connection is seen by all: this is why one embedded server serves exactly one schema.
   */
  get pool(): pg.Pool {
    return this.#started().pool;
  }

  /** `postgres://postgres@127.0.0.1:<port>/postgres` (available after ready()). */
  get url(): string {
    return this.#started().url;
  }

  /** Opens PGlite, starts the socket server and runs migrations; later calls share the first run. */
  ready(): Promise<void> {
    this.#ready ??= this.#start();
    return this.#ready;
  }

  /** Closes the pool, then the socket server, then PGlite; idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#stop();
    return this.#closed;
  }

  async #start(): Promise<void> {
    if (this.#closed !== undefined) throw new Error('EmbeddedDatabase is closed');
    let location = 'memory://';
    if (this.dataDir !== null) {
      location = join(this.dataDir, 'pglite');
      await mkdir(location, { recursive: true, mode: PRIVATE_DIR });
      if (!existsSync(join(location, 'PG_VERSION'))) await initDataDir(location);
    }
    const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-socket')]);
    this.#pglite = await PGlite.create(location, { startParams: [...PGlite.defaultStartParams, ...SETTINGS.flatMap((s) => ['-c', s])] });
    // PGlite sets its files' modes itself (0666 for what its first start unpacks, 0644 for the relcache
    // files it rewrites on every open), whatever the umask; what Postgres creates later follows the umask.
    if (this.dataDir !== null) {
      const { failed } = await makePrivate(location);
      if (failed.length > 0) this.#logger?.warn({ location, paths: failed.slice(0, 10) }, 'could not make every database file private to its owner');
    }
    this.#server = new PGLiteSocketServer({ db: this.#pglite, host: '127.0.0.1', port: 0, maxConnections: MAX_CONNECTIONS });
    await this.#server.start();
    const url = `postgres://postgres@${this.#server.getServerConn()}/postgres`;
    this.#inner = new PostgresDatabase({ url, schema: this.schema, max: this.#max, logger: this.#logger });
    await this.#inner.ready();
    this.#logger?.info({ location, url }, 'embedded database ready');
  }

  async #stop(): Promise<void> {
    await this.#ready?.catch(() => {}); // a half-finished start still leaves things to close
    await this.#inner?.close();
    await this.#server?.stop();
    await this.#pglite?.close();
  }

  #started(): PostgresDatabase {
    if (this.#inner === undefined) throw new Error('EmbeddedDatabase: await ready() before using pool or url');
    return this.#inner;
  }
}
