/** Versioned SQL migrations: gateway/migrations/NNN_name.sql, applied in order, each once per schema. */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { StoreLogger } from './types.ts';

/** Where the migration files ship: `gateway/migrations`, beside `src`. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

const FILE_NAME = /^(\d{3,}_[a-z0-9_]+)\.sql$/;
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Options for migrate(). */
export interface MigrateOptions {
  /** Folder of `NNN_name.sql` files (default: MIGRATIONS_DIR). */
  dir?: string;
  logger?: StoreLogger;
}

/**
 * Creates `schema` if missing and applies the migrations it lacks, all in one transaction; returns the
 * versions applied. Safe when several gateways start at once: see the lock below.
 */
export async function migrate(pool: pg.Pool, schema: string, options: MigrateOptions = {}): Promise<string[]> {
  const schemaSql = quoteSchema(schema);
  const files = await readMigrations(options.dir ?? MIGRATIONS_DIR);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // A transaction-scoped advisory lock per schema serializes concurrent migrators on a real Postgres,
    // and is released by COMMIT/ROLLBACK even if this process dies. On embedded PGlite every socket
    // shares one backend, so the lock is re-entrant and cannot exclude anyone; there the socket server's
    // multiplexer does the job instead, because it runs no other connection's statements while a
    // transaction is open. Taking the lock anyway keeps one code path for both.
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(schema)]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schemaSql}`);
    await client.query(`SET LOCAL search_path TO ${schemaSql}`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file.version)) continue;
      await client.query(file.sql);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [file.version]);
      applied.push(file.version);
    }
    await client.query('COMMIT');
    if (applied.length > 0) options.logger?.info({ schema, applied }, 'database migrated');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** `"schema"`, after checking the name holds identifier characters only (it is spliced into SQL). */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid schema name ${JSON.stringify(schema)}: use 1-63 letters, digits and underscores, not starting with a digit`);
  }
  return `"${schema}"`;
}

interface Migration {
  version: string;
  sql: string;
}

async function readMigrations(dir: string): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  return Promise.all(
    names.map(async (name) => {
      const match = FILE_NAME.exec(name);
      if (match === null) throw new Error(`migration file ${join(dir, name)} must be named NNN_lower_case.sql`);
      return { version: match[1], sql: await readFile(join(dir, name), 'utf8') };
    }),
  );
}

/** A stable signed 64-bit key per schema, so migrators of different schemas do not wait on each other. */
function lockKey(schema: string): string {
  return createHash('sha256').update(`spindle:migrate:${schema}`).digest().readBigInt64BE(0).toString();
}
