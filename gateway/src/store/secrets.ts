/** Secret values by name, sealed (secret-box.ts) before they reach the database. */
import { isValidName } from '@spindle/schemas';
import { BadRequestError, ConflictError, NotFoundError } from '../errors.ts';
import type { SecretBox } from './secret-box.ts';
import type { Database, StoreLogger } from './types.ts';

/** A secret as listed: never its value. */
export interface SecretInfo {
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Secret values by name, as bytes. Rows hold the sealed value and the id of the key that sealed it; a
 * row without a key id holds a plaintext value from a gateway older than sealing.
 */
export class SecretStore {
  readonly #db: Database;
  readonly #box: SecretBox;

  constructor(db: Database, box: SecretBox) {
    this.#db = db;
    this.#box = box;
  }

  /** Creates a secret; ConflictError when the name is taken. */
  async create(name: string, value: Buffer): Promise<void> {
    assertSecretName(name);
    const { rowCount } = await this.#db.pool.query(
      'INSERT INTO secrets (name, value, key_id) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',
      [name, this.#box.seal(name, value), this.#box.keyId],
    );
    if (rowCount !== 1) throw new ConflictError(`secret "${name}" already exists`);
  }

  /** Replaces a secret's value; NotFoundError when there is none. */
  async update(name: string, value: Buffer): Promise<void> {
    assertSecretName(name);
    const { rowCount } = await this.#db.pool.query('UPDATE secrets SET value = $2, key_id = $3, updated_at = now() WHERE name = $1', [
      name,
      this.#box.seal(name, value),
      this.#box.keyId,
    ]);
    if (rowCount !== 1) throw secretNotFound(name);
  }

  /** Every secret's name and timestamps, by name. */
  async list(): Promise<SecretInfo[]> {
    const { rows } = await this.#db.pool.query<{ name: string; created_at: Date; updated_at: Date }>(
      'SELECT name, created_at, updated_at FROM secrets ORDER BY name',
    );
    return rows.map((row) => ({ name: row.name, createdAt: row.created_at, updatedAt: row.updated_at }));
  }

  /** Removes a secret; NotFoundError when there is none. */
  async remove(name: string): Promise<void> {
    const { rowCount } = await this.#db.pool.query('DELETE FROM secrets WHERE name = $1', [name]);
    if (rowCount !== 1) throw secretNotFound(name);
  }

  /** The values of `names`; NotFoundError naming the first that does not exist, SecretUnreadableError naming one this key cannot open. */
  async values(names: string[]): Promise<Map<string, Buffer>> {
    const { rows } = await this.#db.pool.query<{ name: string; value: Buffer; key_id: string | null }>(
      'SELECT name, value, key_id FROM secrets WHERE name = ANY($1::text[])',
      [names],
    );
    const byName = new Map(rows.map((row) => [row.name, row]));
    const missing = names.find((name) => !byName.has(name));
    if (missing !== undefined) throw secretNotFound(missing);
    // A row without a key id is a plaintext value an older gateway wrote after this one sealed the rest.
    return new Map(rows.map((row) => [row.name, row.key_id === null ? row.value : this.#box.open(row.name, row.value, row.key_id)]));
  }

  /**
   * Seals, in place, the values older gateways stored in plain text; returns their names. Safe while
   * other gateways do the same or write: a row is only replaced if it still holds the value read.
   */
  async sealPlaintext(logger?: StoreLogger): Promise<string[]> {
    const { rows } = await this.#db.pool.query<{ name: string; value: Buffer }>('SELECT name, value FROM secrets WHERE key_id IS NULL');
    const sealed: string[] = [];
    for (const row of rows) {
      const { rowCount } = await this.#db.pool.query('UPDATE secrets SET value = $2, key_id = $3 WHERE name = $1 AND key_id IS NULL AND value = $4', [
        row.name,
        this.#box.seal(row.name, row.value),
        this.#box.keyId,
        row.value,
      ]);
      if (rowCount === 1) sealed.push(row.name);
    }
    if (sealed.length === 0) return sealed;
    // The plaintext stays in the table's dead row versions until a vacuum; a full one rewrites the file now.
    // Not fatal: a role that does not own the table cannot, and autovacuum gets there eventually.
    await this.#db.pool.query('VACUUM FULL secrets').catch((err: Error) => logger?.warn({ err: err.message }, 'could not vacuum the secrets table after sealing'));
    return sealed;
  }

  /** Names of the secrets sealed under a key other than this gateway's (which it therefore cannot read). */
  async sealedElsewhere(): Promise<string[]> {
    const { rows } = await this.#db.pool.query<{ name: string }>('SELECT name FROM secrets WHERE key_id IS NOT NULL AND key_id <> $1 ORDER BY name', [
      this.#box.keyId,
    ]);
    return rows.map((row) => row.name);
  }
}

/** Secret names become file names in a replica's secrets folder, so they are held to the same DNS-label rule as function names. */
function assertSecretName(name: string): void {
  if (!isValidName(name)) throw new BadRequestError(`secret name ${JSON.stringify(name)} must be a DNS label: a-z, 0-9 and '-', at most 63 characters`);
}

const secretNotFound = (name: string) => new NotFoundError(`secret "${name}" not found`);
