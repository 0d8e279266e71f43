/** The batched saver's statement joining, and a round trip through the machine's Postgres. */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { combine } from '../store/sql.ts';

describe('combine', () => {
  it('renumbers placeholders and turns all but the last statement into CTEs', () => {
    const [sql, params] = combine([
      ['INSERT INTO a (x, y) VALUES ($1, $2)', [1, 2]],
      ['INSERT INTO b (z) VALUES ($1);\n', [3]],
    ]);
    expect(sql).toBe('WITH s0 AS (INSERT INTO a (x, y) VALUES ($1, $2)) INSERT INTO b (z) VALUES ($3)');
    expect(params).toEqual([1, 2, 3]);
  });

  it('leaves a single statement alone', () => {
    expect(combine([['SELECT $1', [7]]])).toEqual(['SELECT $1', [7]]);
  });

  it('applies every part in one statement on a real Postgres', async () => {
    const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
    await client.connect();
    const schema = `saver_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
    try {
      await client.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.a (x int); CREATE TABLE ${schema}.b (z int PRIMARY KEY)`);
      const [sql, params] = combine([
        [`INSERT INTO ${schema}.a (x) VALUES ($1)`, [1]],
        [`INSERT INTO ${schema}.a (x) VALUES ($1)`, [2]],
        [`INSERT INTO ${schema}.b (z) VALUES ($1) ON CONFLICT (z) DO NOTHING`, [3]],
      ]);
      await client.query(sql, params);
      expect((await client.query(`SELECT x FROM ${schema}.a ORDER BY x`)).rows).toEqual([{ x: 1 }, { x: 2 }]);
      expect((await client.query(`SELECT z FROM ${schema}.b`)).rows).toEqual([{ z: 3 }]);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });
});
