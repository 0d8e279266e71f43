/** The gateway's storage: Database (Postgres, embedded PGlite), BlobStore (folder, S3) and the records kept in them. */
export type { BlobStore, Database, DeploymentRecord, StoreLogger } from './types.ts';
export { PostgresDatabase } from './postgres.ts';
export type { PostgresDatabaseOptions } from './postgres.ts';
export { EmbeddedDatabase } from './embedded.ts';
export type { EmbeddedDatabaseOptions } from './embedded.ts';
export { migrate, quoteSchema, MIGRATIONS_DIR } from './migrate.ts';
export type { MigrateOptions } from './migrate.ts';
export { FolderBlobStore } from './folder.ts';
export { S3BlobStore, s3ClientFromUrl } from './s3.ts';
export type { S3BlobStoreOptions } from './s3.ts';
export { assertKey } from './keys.ts';
export { DeploymentStore, BundleStore, bundleKey } from './repositories.ts';
export type { DeploymentVersion } from './repositories.ts';
export { SecretStore } from './secrets.ts';
export type { SecretInfo } from './secrets.ts';
export { SecretBox, loadSecretBox } from './secret-box.ts';
