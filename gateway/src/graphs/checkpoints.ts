/** LangGraph checkpoints in the gateway's Postgres (or embedded PGlite), thread id = run id. */
import { createHash } from 'node:crypto';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import type pg from 'pg';
import { BatchedPostgresSaver } from './saver.ts';
import type { Database } from '../store/types.ts';

/**
 * Creates the saver and its tables. `PostgresSaver.setup()` is not safe to run concurrently, so it runs
 * under a session advisory lock: two gateways starting at once take turns. Throws when the tables are
 * at a migration the saver's own writes were not written for (see BatchedPostgresSaver.checkTables).
 */
export async function createCheckpointer(db: Pick<Database, 'pool' | 'schema'>): Promise<BatchedPostgresSaver> {
  const saver = new BatchedPostgresSaver(db.pool, { schema: db.schema });
  const key = createHash('sha256').update(`spindle-checkpoints:${db.schema}`).digest().readBigInt64BE(0);
  const client = await db.pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [key.toString()]);
    try {
      // setup() runs on the client holding the lock (it asks its pool for one connection and releases
      // it): with a one-connection pool, as on embedded PGlite, asking the real pool would deadlock.
      const locked = { connect: async () => ({ query: client.query.bind(client), release() {} }) } as unknown as pg.Pool;
      await new PostgresSaver(locked, undefined, { schema: db.schema }).setup();
      await saver.checkTables(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [key.toString()]);
    }
  } finally {
    client.release();
  }
  return saver;
}
