-- 001_init: the gateway's durable record. Tables are created unqualified: migrate() runs this file with
-- search_path set to the target schema, so one file serves `public` and every test's private schema.
-- Files run inside one transaction: keep them transaction-safe (no CREATE INDEX CONCURRENTLY).

-- Function bundles by content digest; the bytes live in the blob store under bundles/sha256/<digest>.
CREATE TABLE bundles (
  digest     text PRIMARY KEY,
  size       bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The current deploy request of each function (OpenFaaS FunctionDeployment minus namespace).
CREATE TABLE deployments (
  name       text PRIMARY KEY,
  spec       jsonb NOT NULL,
  version    int NOT NULL,
  replicas   int NULL, -- set by scale-function; NULL means "use com.openfaas.scale.min"
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every deploy ever made of a live function, for describe and rollback. Removing a function removes
-- its history, so a function deployed again under the same name starts at version 1.
CREATE TABLE deployment_versions (
  name       text NOT NULL REFERENCES deployments (name) ON DELETE CASCADE,
  version    int NOT NULL,
  spec       jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, version)
);

-- Secret values; deployments refer to them by name only.
CREATE TABLE secrets (
  name       text PRIMARY KEY,
  value      bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
