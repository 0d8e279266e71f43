/** The SQL helpers: placeholders come from the values added, never from reading SQL text. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { oneStatement, params } from './sql.ts';

const POSTGRES_URL = process.env.SPINDLE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

describe('params', () => {
  it('numbers placeholders in the order values are added, across parts built apart', () => {
    const p = params();
    const first = `INSERT INTO a (x, y) VALUES (${p(1)}, ${p(2)})`;
    const second = `INSERT INTO b (z) VALUES (${p(3)})`;
    expect([first, second]).toEqual(['INSERT INTO a (x, y) VALUES ($1, $2)', 'INSERT INTO b (z) VALUES ($3)']);
    expect(p.values).toEqual([1, 2, 3]);
  });

  it('leaves a `$1` inside a string literal alone', () => {
    const p = params();
    const first = `SELECT '$1' AS literal, ${p('a')} AS a`;
    const second = `SELECT '$1 and $2' AS literal, ${p('b')} AS b`;
    expect(oneStatement([first, second])).toBe("WITH s0 AS (SELECT '$1' AS literal, $1 AS a) SELECT '$1 and $2' AS literal, $2 AS b");
    expect(p.values).toEqual(['a', 'b']);
  });

  it('lets one placeholder stand for a value used twice', () => {
    const p = params();
    const id = p('x');
    expect(`DELETE FROM a WHERE id = ${id} OR parent = ${id}`).toBe('DELETE FROM a WHERE id = $1 OR parent = $1');
    expect(p.values).toEqual(['x']);
  });
});

describe('oneStatement', () => {
  it('leaves a single statement alone and refuses none', () => {
    expect(oneStatement(['SELECT 1'])).toBe('SELECT 1');
    expect(() => oneStatement([])).toThrow(/no statements/);
  });

  it('applies every part in one statement on a real Postgres, literals intact', async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    const schema = `sql_test_${randomBytes(6).toString('hex')}`;
    try {
      await client.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".a (x int, note text); CREATE TABLE "${schema}".b (z int PRIMARY KEY)`);
      const p = params();
      const text = oneStatement([
        `INSERT INTO "${schema}".a (x, note) VALUES (${p(1)}, '$1')`,
        `INSERT INTO "${schema}".a (x, note) VALUES (${p(2)}, ${p('$2 -- not a placeholder')})`,
        `INSERT INTO "${schema}".b (z) VALUES (${p(3)}) ON CONFLICT (z) DO NOTHING`,
      ]);
      await client.query(text, p.values);
      expect((await client.query(`SELECT x, note FROM "${schema}".a ORDER BY x`)).rows).toEqual([
        { x: 1, note: '$1' },
        { x: 2, note: '$2 -- not a placeholder' },
      ]);
      expect((await client.query(`SELECT z FROM "${schema}".b`)).rows).toEqual([{ z: 3 }]);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  });
});
