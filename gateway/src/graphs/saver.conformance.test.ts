/**
 * LangGraph's checkpointer conformance suite (`@langchain/langgraph-checkpoint-validation`, the spec
 * upstream runs against its own savers) against BatchedPostgresSaver, on the machine's PostgreSQL and on
 * embedded PGlite. Every checkpointer the suite asks for gets its own schema, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedDatabase } from '../store/embedded.ts';
import { createCheckpointer } from './checkpoints.ts';
import type { BatchedPostgresSaver } from './saver.ts';

// The suite calls describe/it/expect as globals (jest style); this config has no vitest globals.
Object.assign(globalThis, { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it });
const { specTest, deltaChannelHistoryTests } = await import('@langchain/langgraph-checkpoint-validation');
type Initializer = Parameters<typeof specTest<BatchedPostgresSaver>>[0];

const POSTGRES_URL = process.env.SPINDLE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** An initializer whose checkpointers share `pool()` and each own a fresh schema. */
function initializer(database: string, pool: () => pg.Pool): Initializer {
  const schemas = new Map<BatchedPostgresSaver, string>();
  return {
    checkpointerName: `BatchedPostgresSaver on ${database}`,
    async createCheckpointer() {
      const schema = `saver_conf_${randomBytes(6).toString('hex')}`;
      const saver = await createCheckpointer({ pool: pool(), schema });
      schemas.set(saver, schema);
      return saver;
    },
    async destroyCheckpointer(saver) {
      await pool().query(`DROP SCHEMA IF EXISTS "${schemas.get(saver)}" CASCADE`);
      schemas.delete(saver);
    },
  };
}

describe('on PostgreSQL', () => {
  let pool: pg.Pool;
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
  });
  afterAll(async () => {
    const { rows } = await pool.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'saver\\_conf\\_%'`);
    await pool.end();
    expect(rows).toEqual([]); // every schema the suite made was dropped
  });
  const init = initializer('PostgreSQL', () => pool);
  specTest(init);
  deltaChannelHistoryTests(init);
});

describe('on embedded PGlite', () => {
  let db: EmbeddedDatabase;
  beforeAll(async () => {
    db = new EmbeddedDatabase({ dataDir: null, schema: 'conformance' });
    await db.ready();
  });
  afterAll(() => db.close());
  const init = initializer('embedded PGlite', () => db.pool);
  specTest(init);
  deltaChannelHistoryTests(init);
});
