/** The gateway's storage: Database (Postgres, embedded PGlite), BlobStore (folder, S3) and the records kept in them. */
export type { BlobStore, ByteRange, Database } from './types.ts';
export { PostgresDatabase } from './postgres.ts';
export { EmbeddedDatabase } from './embedded.ts';
export { FolderBlobStore } from './folder.ts';
export { S3BlobStore, s3ClientFromUrl } from './s3.ts';
export { DeploymentStore, BundleStore } from './repositories.ts';
export { SecretStore } from './secrets.ts';
export { loadSecretBox } from './secret-box.ts';
