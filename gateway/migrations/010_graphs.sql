-- 010_graphs: graph definitions, runs and their events. LangGraph's checkpoint tables are created by
-- PostgresSaver.setup() right after these migrations, under the same advisory lock (graphs/checkpoints.ts).

-- Deployed graph definitions (validated JSON), versioned like functions.
CREATE TABLE graphs (
  name       text PRIMARY KEY,
  definition jsonb NOT NULL,
  version    int NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per run; the run id is also the LangGraph thread id of its checkpoints.
CREATE TABLE runs (
  id            uuid PRIMARY KEY,
  graph         text NOT NULL,
  graph_version int NOT NULL,
  definition    jsonb NOT NULL, -- the definition the run started with, so a redeploy does not change it mid-run
  status        text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  input         jsonb,
  output        jsonb,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz
);
CREATE INDEX runs_by_time ON runs (created_at DESC, id DESC);
CREATE INDEX runs_by_graph ON runs (graph, created_at DESC);
CREATE INDEX runs_by_status ON runs (status) WHERE status IN ('queued', 'running');

-- Per-node state of a run: status, attempts, timings and output.
CREATE TABLE run_nodes (
  run_id      uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  node        text NOT NULL,
  status      text NOT NULL,
  attempts    int NOT NULL DEFAULT 0,
  started_at  timestamptz,
  finished_at timestamptz,
  duration_ms double precision,
  output      jsonb,
  error       text,
  PRIMARY KEY (run_id, node)
);

-- Everything that happened in a run, in order: what a late SSE subscriber replays.
CREATE TABLE run_events (
  run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  seq    int NOT NULL,
  type   text NOT NULL,
  node   text,
  data   jsonb,
  at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, seq)
);
