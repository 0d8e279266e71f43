-- 035_langgraph_threads: threads of the LangGraph Platform API (gateway/src/langgraph/). A thread is a record
-- with metadata; each run started on it keeps its own checkpoint lineage (LangGraph thread id = run id), and
-- the thread's state is its latest run's. Runs on a thread keep their checkpoints (state, history); the others
-- drop them when they finish, as before.
CREATE TABLE langgraph_threads (
  id         uuid PRIMARY KEY,
  metadata   jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX langgraph_threads_by_time ON langgraph_threads (created_at DESC, id DESC);

-- The thread a run belongs to (null: started by /graphs/NAME/runs or a threadless /runs call) and its metadata.
ALTER TABLE runs ADD COLUMN thread_id uuid REFERENCES langgraph_threads (id) ON DELETE CASCADE;
ALTER TABLE runs ADD COLUMN metadata jsonb;
CREATE INDEX runs_by_thread ON runs (thread_id, created_at DESC) WHERE thread_id IS NOT NULL;
