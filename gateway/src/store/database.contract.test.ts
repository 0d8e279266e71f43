/** One contract for every Database, run against the machine's Postgres and embedded PGlite; each test owns a random schema. */
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeployRequest } from '@spindle/schemas';
import { BadRequestError, ConflictError, NotFoundError, SecretUnreadableError } from '../errors.ts';
import { EmbeddedDatabase } from './embedded.ts';
import { FolderBlobStore } from './folder.ts';
import { migrate, MIGRATIONS_DIR } from './migrate.ts';
import { PostgresDatabase } from './postgres.ts';
import { BundleStore, DeploymentStore } from './repositories.ts';
import { SecretBox } from './secret-box.ts';
import { SecretStore } from './secrets.ts';
import type { Database } from './types.ts';

/** The versions the repo's migration files name, in order. */
async function migrationVersions(): Promise<string[]> {
  return (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{3,}_[a-z0-9_]+\.sql$/.test(f)).map((f) => f.replace(/\.sql$/, '')).sort();
}

const POSTGRES_URL = process.env.SPINDLE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Seals the secrets of every test. */
const box = new SecretBox(randomBytes(32));
/** Every schema a test made, so the end of the file can check none was left behind. */
const schemasMade: string[] = [];

/** How a contract run makes databases of one kind. */
interface DatabaseFactory {
  /** A database on fresh storage whose tables live in `schema` (not yet ready). */
  create(schema: string): Database;
  /** A second instance on `db`'s storage and schema: what another gateway would open. */
  peer(db: Database): Database;
  /** `db`'s storage opened again after `db.close()`: a gateway restart. */
  reopen(db: Database): Database;
}

function databaseContract(kind: string, factory: DatabaseFactory): void {
  describe(`Database contract: ${kind}`, () => {
    let schema: string;
    let opened: Database[];
    const track = <T extends Database>(db: T): T => {
      opened.push(db);
      return db;
    };
    const open = async (db: Database) => {
      await track(db).ready();
      return db;
    };

    beforeEach(() => {
      schema = `store_test_${randomBytes(6).toString('hex')}`;
      schemasMade.push(schema);
      opened = [];
    });

    afterEach(async () => {
      // Drop through the newest instance still open (tests close some on purpose), then close them all.
      for (const db of [...opened].reverse()) {
        try {
          await db.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          break;
        } catch {
          // closed on purpose by the test: try the next one
        }
      }
      for (const db of [...opened].reverse()) await db.close();
    });

    describe('migrations', () => {
      it('creates the schema and tables, and ready() twice migrates once', async () => {
        const db = await open(factory.create(schema));
        await db.ready();
        expect(db.schema).toBe(schema);
        // Every pooled connection works in the schema, not just the first one.
        // (As many at once as the pool allows: the embedded pool has one connection.)
        const clients = await Promise.all(Array.from({ length: Math.min(3, db.pool.options.max ?? 3) }, () => db.pool.connect()));
        for (const client of clients) {
          expect((await client.query('SELECT current_schema() AS s')).rows).toEqual([{ s: schema }]);
          client.release();
        }
        const tables = await db.pool.query<{ table_name: string }>(
          'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
          [schema],
        );
        expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['bundles', 'deployment_versions', 'deployments', 'schema_migrations', 'secrets']));
        const versions = await db.pool.query('SELECT version FROM schema_migrations ORDER BY version');
        expect(versions.rows.map((r) => r.version)).toEqual(await migrationVersions());
        expect(await migrate(db.pool, schema)).toEqual([]);
      });

      it('is safe when two instances migrate the same schema at once', async () => {
        const first = track(factory.create(schema));
        await first.ready();
        // Start from an empty schema again, then race two instances and two bare migrate() calls.
        await first.pool.query(`DROP SCHEMA "${schema}" CASCADE`);
        const second = track(factory.peer(first));
        const applied = await Promise.all([migrate(first.pool, schema), migrate(second.pool, schema), second.ready()]);
        // Each migration applied exactly once, by whichever instance got there first.
        expect(applied.slice(0, 2).flat().sort()).toEqual(await migrationVersions());
        const versions = await first.pool.query('SELECT version FROM schema_migrations ORDER BY version');
        expect(versions.rows.map((r) => r.version)).toEqual(await migrationVersions());
      });

      it('rejects a schema name that is not an identifier', () => {
        expect(() => factory.create('bad"; DROP TABLE x; --')).toThrow(/invalid schema name/);
        expect(() => factory.create('1abc')).toThrow(/invalid schema name/);
      });
    });

    describe('pg through it', () => {
      it('runs parameterized queries, transactions, jsonb and bytea', async () => {
        const db = await open(factory.create(schema));
        await db.pool.query('CREATE TABLE probe (id int PRIMARY KEY, doc jsonb, bytes bytea)');
        const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const doc = { nested: { list: [1, 'two', null], flag: true }, text: 'é ✓' };
        await db.pool.query('INSERT INTO probe VALUES ($1, $2, $3)', [1, JSON.stringify(doc), bytes]);
        const client = await db.pool.connect();
        try {
          await client.query('BEGIN');
          await client.query('INSERT INTO probe VALUES ($1, $2, $3)', [2, '{}', Buffer.alloc(0)]);
          await client.query('ROLLBACK');
        } finally {
          client.release();
        }
        const { rows } = await db.pool.query('SELECT id, doc, bytes FROM probe ORDER BY id');
        expect(rows).toEqual([{ id: 1, doc, bytes }]);
      });

      it('keeps concurrent queries on several connections apart', async () => {
        const db = await open(factory.create(schema));
        // Different SQL per query: were two connections' protocol messages interleaved, answers would mix.
        const answers = await Promise.all(
          Array.from({ length: 200 }, (_, i) => db.pool.query(`SELECT $1::int + ${i % 17} AS n, $2::text AS s`, [i, `s${i}`])),
        );
        for (const [i, answer] of answers.entries()) expect(answer.rows[0]).toEqual({ n: i + (i % 17), s: `s${i}` });
      });

      it('close() is idempotent', async () => {
        const db = await open(factory.create(schema));
        await db.pool.query(`DROP SCHEMA "${schema}" CASCADE`);
        await Promise.all([db.close(), db.close()]);
        await db.close();
      });
    });

    describe('DeploymentStore', () => {
      const spec = (image: string, extra: Partial<DeployRequest> = {}): DeployRequest => ({ service: 'hello', image, ...extra });

      it('creates at version 1 without the namespace, and bumps the version on every deploy', async () => {
        const deployments = new DeploymentStore(await open(factory.create(schema)));
        const first = await deployments.upsert(spec('bundle://sha256:aa', { namespace: 'openfaas-fn', secrets: ['api-key'] }));
        expect(first).toMatchObject({ name: 'hello', version: 1, replicas: null });
        expect(first.spec).toEqual({ service: 'hello', image: 'bundle://sha256:aa', secrets: ['api-key'] });
        expect(first.createdAt).toBeInstanceOf(Date);
        await new Promise((resolve) => setTimeout(resolve, 20));
        const second = await deployments.upsert(spec('bundle://sha256:bb'));
        const third = await deployments.upsert(spec('bundle://sha256:cc'));
        expect([second.version, third.version]).toEqual([2, 3]);
        expect(third.createdAt.getTime()).toBe(first.createdAt.getTime());
        expect(third.updatedAt.getTime()).toBeGreaterThan(first.updatedAt.getTime());
        expect(await deployments.get('hello')).toEqual(third);
        const history = await deployments.history('hello');
        expect(history.map((h) => [h.version, h.spec.image])).toEqual([
          [1, 'bundle://sha256:aa'],
          [2, 'bundle://sha256:bb'],
          [3, 'bundle://sha256:cc'],
        ]);
      });

      it('gets, lists by name and removes', async () => {
        const deployments = new DeploymentStore(await open(factory.create(schema)));
        expect(await deployments.get('nope')).toBeNull();
        expect(await deployments.list()).toEqual([]);
        await deployments.upsert({ service: 'zeta', image: 'z' });
        await deployments.upsert({ service: 'alpha', image: 'a' });
        expect((await deployments.list()).map((d) => d.name)).toEqual(['alpha', 'zeta']);
        expect(await deployments.remove('zeta')).toBe(true);
        expect(await deployments.remove('zeta')).toBe(false);
        expect(await deployments.get('zeta')).toBeNull();
        expect(await deployments.history('zeta')).toEqual([]);
        // History went with it, so deploying the name again starts over.
        expect((await deployments.upsert({ service: 'zeta', image: 'z2' })).version).toBe(1);
      });

      it('records replicas, keeps them across deploys and clears them with null', async () => {
        const deployments = new DeploymentStore(await open(factory.create(schema)));
        expect(await deployments.setReplicas('hello', 2)).toBeNull();
        const created = await deployments.upsert(spec('x'));
        const scaled = await deployments.setReplicas('hello', 3);
        expect(scaled).toMatchObject({ replicas: 3, version: 1 });
        expect(scaled?.updatedAt.getTime()).toBe(created.updatedAt.getTime());
        expect((await deployments.upsert(spec('y'))).replicas).toBe(3);
        expect((await deployments.setReplicas('hello', 0))?.replicas).toBe(0);
        expect((await deployments.setReplicas('hello', null))?.replicas).toBeNull();
        await expect(deployments.setReplicas('hello', -1)).rejects.toBeInstanceOf(BadRequestError);
        await expect(deployments.setReplicas('hello', 1.5)).rejects.toBeInstanceOf(BadRequestError);
      });
    });

    describe('SecretStore', () => {
      it('creates, conflicts, updates, lists names only and removes', async () => {
        const secrets = new SecretStore(await open(factory.create(schema)), box);
        const binary = Buffer.from([0, 1, 2, 254, 255]);
        await secrets.create('api-key', Buffer.from('one'));
        await secrets.create('cert', binary);
        await expect(secrets.create('api-key', Buffer.from('two'))).rejects.toThrow(ConflictError);
        await expect(secrets.create('api-key', Buffer.from('two'))).rejects.toThrow('secret "api-key" already exists');
        await secrets.update('api-key', Buffer.from('three'));
        await expect(secrets.update('missing', Buffer.from('x'))).rejects.toThrow(NotFoundError);
        const listed = await secrets.list();
        expect(listed.map((s) => s.name)).toEqual(['api-key', 'cert']);
        expect(Object.keys(listed[0]).sort()).toEqual(['createdAt', 'name', 'updatedAt']);
        expect(listed[0].updatedAt.getTime()).toBeGreaterThanOrEqual(listed[0].createdAt.getTime());
        expect(await secrets.values(['cert', 'api-key'])).toEqual(new Map([['cert', binary], ['api-key', Buffer.from('three')]]));
        expect(await secrets.values([])).toEqual(new Map());
        await secrets.remove('cert');
        await expect(secrets.remove('cert')).rejects.toThrow('secret "cert" not found');
        expect((await secrets.list()).map((s) => s.name)).toEqual(['api-key']);
      });

      it('names the missing secret when values() cannot find one', async () => {
        const secrets = new SecretStore(await open(factory.create(schema)), box);
        await secrets.create('present', Buffer.from('v'));
        await expect(secrets.values(['present', 'absent'])).rejects.toThrow(new NotFoundError('secret "absent" not found'));
      });

      it('refuses names that could not be a file name in a replica', async () => {
        const secrets = new SecretStore(await open(factory.create(schema)), box);
        await expect(secrets.create('../etc', Buffer.from('x'))).rejects.toBeInstanceOf(BadRequestError);
      });

      it('stores values sealed, seals plaintext rows of older gateways in place, and names the secret another key cannot open', async () => {
        const db = await open(factory.create(schema));
        const secrets = new SecretStore(db, box);
        await secrets.create('fresh', Buffer.from('fresh-plaintext'));
        // As a gateway older than sealing wrote it: the bytes themselves, no key id.
        await db.pool.query('INSERT INTO secrets (name, value) VALUES ($1, $2)', ['legacy', Buffer.from('legacy-plaintext')]);
        expect(await secrets.values(['legacy'])).toEqual(new Map([['legacy', Buffer.from('legacy-plaintext')]]));
        expect(await secrets.sealPlaintext()).toEqual(['legacy']);
        expect(await secrets.sealPlaintext()).toEqual([]);
        const { rows } = await db.pool.query<{ name: string; value: Buffer; key_id: string }>('SELECT name, value, key_id FROM secrets ORDER BY name');
        for (const row of rows) {
          expect(row.key_id).toBe(box.keyId);
          expect(row.value.includes(Buffer.from('plaintext'))).toBe(false);
        }
        expect(await secrets.values(['fresh', 'legacy'])).toEqual(new Map([['fresh', Buffer.from('fresh-plaintext')], ['legacy', Buffer.from('legacy-plaintext')]]));
        const other = new SecretStore(db, new SecretBox(randomBytes(32)));
        expect(await other.sealedElsewhere()).toEqual(['fresh', 'legacy']);
        await expect(other.values(['fresh'])).rejects.toThrow(SecretUnreadableError);
        await expect(other.values(['fresh'])).rejects.toThrow(/secret "fresh" cannot be decrypted: it was sealed with key [0-9a-f]{16}.*SPINDLE_SECRET_KEY/);
        // A value moved onto another row does not open there: each is bound to its name.
        await db.pool.query("UPDATE secrets SET value = (SELECT value FROM secrets WHERE name = 'fresh') WHERE name = 'legacy'");
        await expect(secrets.values(['legacy'])).rejects.toThrow(/secret "legacy" cannot be decrypted: its stored value failed authentication/);
      });
    });

    describe('BundleStore', () => {
      it('copies a bundle out to a local file once, even when two deploys ask at the same time', async () => {
        const dir = await mkdtemp(join(tmpdir(), 'spindle-bundles-'));
        try {
          const db = await open(factory.create(schema));
          const bundles = new BundleStore(db, new FolderBlobStore(join(dir, 'objects')));
          const body = Buffer.from('export default () => "copied"');
          const hex = createHash('sha256').update(body).digest('hex');
          expect(await bundles.localCopy(hex, join(dir, 'local'), '.mjs')).toBeNull();
          await bundles.put(hex, body);
          const [a, b] = await Promise.all([bundles.localCopy(hex, join(dir, 'local'), '.mjs'), bundles.localCopy(hex, join(dir, 'local'), '.mjs')]);
          expect(a).toBe(join(dir, 'local', `${hex}.mjs`));
          expect(b).toBe(a);
          expect(await readFile(a!)).toEqual(body);
          expect(await readdir(join(dir, 'local'))).toEqual([`${hex}.mjs`]);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });

      it('stores, finds and returns bundles by sha256, and rejects a body that does not match', async () => {
        const dir = await mkdtemp(join(tmpdir(), 'spindle-bundles-'));
        try {
          const db = await open(factory.create(schema));
          const bundles = new BundleStore(db, new FolderBlobStore(dir));
          const body = Buffer.from('export default () => "hi"');
          const hex = createHash('sha256').update(body).digest('hex');
          const other = createHash('sha256').update('something else').digest('hex');
          expect(await bundles.has(hex)).toBe(false);
          expect(await bundles.get(hex)).toBeNull();
          await bundles.put(hex, body);
          await bundles.put(hex, body); // again: a no-op
          expect(await bundles.has(hex)).toBe(true);
          expect(await bundles.get(hex)).toEqual(body);
          const { rows } = await db.pool.query('SELECT digest, size::int AS size FROM bundles');
          expect(rows).toEqual([{ digest: hex, size: body.length }]);
          await expect(bundles.put(other, body)).rejects.toThrow(
            new BadRequestError(`digest mismatch: body hashes to sha256:${hex}, URL names sha256:${other}`),
          );
          expect(await bundles.has(other)).toBe(false);
          await expect(bundles.has(hex.toUpperCase())).rejects.toBeInstanceOf(BadRequestError);
          await expect(bundles.get('../../etc/passwd')).rejects.toBeInstanceOf(BadRequestError);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });
    });

    it('keeps its data across close and reopen', async () => {
      const db = await open(factory.create(schema));
      await new DeploymentStore(db).upsert({ service: 'kept', image: 'k' });
      await new SecretStore(db, box).create('kept', Buffer.from([9, 8, 7]));
      await db.close();
      const again = await open(factory.reopen(db));
      expect(await new DeploymentStore(again).get('kept')).toMatchObject({ name: 'kept', version: 1 });
      expect(await new SecretStore(again, box).values(['kept'])).toEqual(new Map([['kept', Buffer.from([9, 8, 7])]]));
      expect(await migrate(again.pool, schema)).toEqual([]);
    });
  });
}

// ---- the machine's Postgres ----

databaseContract('PostgresDatabase', {
  create: (schema) => new PostgresDatabase({ url: POSTGRES_URL, schema, max: 4 }),
  peer: (db) => new PostgresDatabase({ url: db.url, schema: db.schema, max: 4 }),
  reopen: (db) => new PostgresDatabase({ url: db.url, schema: db.schema, max: 4 }),
});

describe('PostgresDatabase leaves no schema behind', () => {
  it('the contract dropped every schema it made', async () => {
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    try {
      const { rows } = await admin.query('SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])', [schemasMade]);
      expect(rows).toEqual([]);
    } finally {
      await admin.end();
    }
  });
});

// ---- embedded PGlite ----

// A fresh PGlite runs initdb (~2.5 s); copying an initialized data folder and opening the copy takes
// ~0.3 s, so each test starts from a copy of one template made here.
let workDir: string;
let templateDir: string;
const dataDirs: string[] = [];

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'spindle-embedded-'));
  templateDir = join(workDir, 'template');
  const template = new EmbeddedDatabase({ dataDir: templateDir });
  await template.ready();
  await template.close();
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

databaseContract('EmbeddedDatabase', {
  create(schema) {
    const dataDir = join(workDir, `db-${dataDirs.push(schema)}`);
    return new LazyCopy(templateDir, dataDir, schema);
  },
  // Another process reaches the embedded database over its socket, as a plain Postgres.
  peer: (db) => new PostgresDatabase({ url: db.url, schema: db.schema, max: 4 }),
  reopen: (db) => new EmbeddedDatabase({ dataDir: (db as LazyCopy).dataDir, schema: db.schema }),
});

/** An EmbeddedDatabase whose data folder is copied from the template when it gets ready. */
class LazyCopy extends EmbeddedDatabase {
  readonly #template: string;
  constructor(template: string, dataDir: string, schema: string) {
    super({ dataDir, schema });
    this.#template = template;
  }
  #copied: Promise<void> | undefined;
  override async ready(): Promise<void> {
    this.#copied ??= cp(this.#template, this.dataDir as string, { recursive: true });
    await this.#copied;
    return super.ready();
  }
}

describe('EmbeddedDatabase', () => {
  it('works in memory when dataDir is null, and refuses pool before ready()', async () => {
    const db = new EmbeddedDatabase({ dataDir: null, schema: 'mem' });
    expect(() => db.pool).toThrow(/ready\(\)/);
    try {
      await db.ready();
      expect(db.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      const { rows } = await db.pool.query('SELECT current_schema() AS s');
      expect(rows).toEqual([{ s: 'mem' }]);
    } finally {
      await db.close();
      await db.close();
    }
  });
});
