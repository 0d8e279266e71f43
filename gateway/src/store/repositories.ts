/** The gateway's records in SQL: deployments (with their history) and bundles; secrets are in secrets.ts. */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeployRequest } from '@spindle/schemas';
import { PRIVATE_DIR, PRIVATE_FILE } from '../data-dir.ts';
import { BadRequestError } from '../errors.ts';
import type { BlobStore, Database, DeploymentRecord } from './types.ts';

/** One past deploy of a function, as kept in deployment_versions. */
export interface DeploymentVersion {
  version: number;
  spec: DeployRequest;
  createdAt: Date;
}

interface DeploymentRow {
  name: string;
  spec: DeployRequest;
  version: number;
  replicas: number | null;
  created_at: Date;
  updated_at: Date;
}

const toRecord = (row: DeploymentRow): DeploymentRecord => ({
  name: row.name,
  spec: row.spec,
  version: row.version,
  replicas: row.replicas,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** Deploys kept in the history of each function (older ones are dropped by the deploy that passes this). */
export const HISTORY_KEPT = 50;

/** Deployments by function name; every deploy bumps the version and is kept in the history (the last HISTORY_KEPT). */
export class DeploymentStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Creates or replaces `spec.service`'s deployment; `namespace` is dropped, replicas and createdAt are kept. */
  async upsert(spec: DeployRequest): Promise<DeploymentRecord> {
    const { namespace: _namespace, ...stored } = spec;
    // One statement, so the deployment and its history row commit together without a transaction.
    const { rows } = await this.#db.pool.query<DeploymentRow>(
      `WITH d AS (
         INSERT INTO deployments AS cur (name, spec, version, replicas, created_at, updated_at)
         VALUES ($1, $2, 1, NULL, now(), now())
         ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec, version = cur.version + 1, updated_at = now()
         RETURNING *
       ), v AS (
         INSERT INTO deployment_versions (name, version, spec, created_at) SELECT name, version, spec, updated_at FROM d
       ), pruned AS (
         DELETE FROM deployment_versions WHERE name = $1 AND version <= (SELECT version FROM d) - ${HISTORY_KEPT}
       )
       SELECT * FROM d`,
      [spec.service, JSON.stringify(stored)],
    );
    return toRecord(rows[0]);
  }

  /** The deployment, or null. */
  async get(name: string): Promise<DeploymentRecord | null> {
    const { rows } = await this.#db.pool.query<DeploymentRow>('SELECT * FROM deployments WHERE name = $1', [name]);
    return rows.length === 0 ? null : toRecord(rows[0]);
  }

  /** Every deployment, by name. */
  async list(): Promise<DeploymentRecord[]> {
    const { rows } = await this.#db.pool.query<DeploymentRow>('SELECT * FROM deployments ORDER BY name');
    return rows.map(toRecord);
  }

  /** Every deploy of `name`, oldest first; empty when the function does not exist. */
  async history(name: string): Promise<DeploymentVersion[]> {
    const { rows } = await this.#db.pool.query<{ version: number; spec: DeployRequest; created_at: Date }>(
      'SELECT version, spec, created_at FROM deployment_versions WHERE name = $1 ORDER BY version',
      [name],
    );
    return rows.map((row) => ({ version: row.version, spec: row.spec, createdAt: row.created_at }));
  }

  /** The last `limit` deploys of `name`, newest first; empty when the function does not exist. */
  async recent(name: string, limit: number): Promise<DeploymentVersion[]> {
    const { rows } = await this.#db.pool.query<{ version: number; spec: DeployRequest; created_at: Date }>(
      'SELECT version, spec, created_at FROM deployment_versions WHERE name = $1 ORDER BY version DESC LIMIT $2',
      [name, limit],
    );
    return rows.map((row) => ({ version: row.version, spec: row.spec, createdAt: row.created_at }));
  }

  /** Removes the deployment and its history; false when there was none. */
  async remove(name: string): Promise<boolean> {
    const { rowCount } = await this.#db.pool.query('DELETE FROM deployments WHERE name = $1', [name]);
    return rowCount === 1;
  }

  /** Records the replica count asked for (null: back to the min-scale label); null when there is no such deployment. */
  async setReplicas(name: string, replicas: number | null): Promise<DeploymentRecord | null> {
    if (replicas !== null && !(Number.isInteger(replicas) && replicas >= 0)) {
      throw new BadRequestError(`replicas must be a whole number >= 0, got ${replicas}`);
    }
    // updated_at is left alone: it marks the last deploy, and scaling is not one.
    const { rows } = await this.#db.pool.query<DeploymentRow>(
      'UPDATE deployments SET replicas = $2 WHERE name = $1 RETURNING *',
      [name, replicas],
    );
    return rows.length === 0 ? null : toRecord(rows[0]);
  }
}

/** The blob-store key of a bundle. */
export const bundleKey = (hex: string): string => `bundles/sha256/${hex}`;

/** Function bundles by sha256: bytes in the blob store, a row in `bundles` once they are safely there. */
export class BundleStore {
  readonly #db: Database;
  readonly #blobs: BlobStore;
  /** Copies in progress, so two deploys of one digest share a single copy. */
  readonly #copying = new Map<string, Promise<string | null>>();

  constructor(db: Database, blobs: BlobStore) {
    this.#db = db;
    this.#blobs = blobs;
  }

  /**
   * The bundle as a local file `<dir>/<hex><ext>` (replicas and the runner read files), copied out of
   * the blob store once; null when the store does not have it.
   */
  async localCopy(hex: string, dir: string, ext: string): Promise<string | null> {
    assertDigest(hex);
    const path = join(dir, `${hex}${ext}`);
    if (existsSync(path)) return path;
    let copying = this.#copying.get(path);
    if (!copying) {
      copying = (async () => {
        const bytes = await this.get(hex);
        if (!bytes) return null;
        await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
        const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
        await writeFile(tmp, bytes, { mode: PRIVATE_FILE });
        await rename(tmp, path);
        return path;
      })().finally(() => this.#copying.delete(path));
      this.#copying.set(path, copying);
    }
    return copying;
  }

  /** Whether the bundle was stored. */
  async has(hex: string): Promise<boolean> {
    assertDigest(hex);
    const { rowCount } = await this.#db.pool.query('SELECT 1 FROM bundles WHERE digest = $1', [hex]);
    return rowCount === 1;
  }

  /** Stores `bytes` after checking they hash to `hex`; storing the same bundle again is a no-op. */
  async put(hex: string, bytes: Buffer): Promise<void> {
    assertDigest(hex);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== hex) throw new BadRequestError(`digest mismatch: body hashes to sha256:${actual}, URL names sha256:${hex}`);
    if (await this.has(hex)) return;
    // Blob first, row second: a row therefore always names bytes that exist.
    await this.#blobs.put(bundleKey(hex), bytes, bytes.length);
    await this.#db.pool.query('INSERT INTO bundles (digest, size) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING', [hex, bytes.length]);
  }

  /** The bundle's bytes, or null. */
  async get(hex: string): Promise<Buffer | null> {
    assertDigest(hex);
    return this.#blobs.get(bundleKey(hex));
  }
}

function assertDigest(hex: string): void {
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new BadRequestError(`bundle digest must be 64 lowercase hex characters (sha256), got ${JSON.stringify(hex.slice(0, 80))}`);
  }
}
