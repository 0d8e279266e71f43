/**
 * The LangGraph Platform (Agent Server) API, so `@langchain/langgraph-sdk` clients run Spindle graphs unchanged:
 * assistants (graphs), threads (checkpoint lineages of runs) and runs, over the same executor, run store, run
 * events and Postgres checkpoints as `/graphs/NAME/runs` and `/runs`. Register it behind the admin check.
 */
import type { FastifyPluginAsync } from 'fastify';
import { assistantRoutes } from './assistants.ts';
import type { LanggraphDeps } from './deps.ts';
import { runRoutes } from './runs.ts';
import { threadRoutes } from './threads.ts';

export { ThreadStates } from './state.ts';
export { ThreadStore } from './threads-store.ts';
export type { LanggraphDeps } from './deps.ts';

/** Every LangGraph Platform route. */
export function langgraphRoutes(deps: LanggraphDeps): FastifyPluginAsync {
  return async (app) => {
    app.register(assistantRoutes(deps));
    app.register(threadRoutes(deps));
    app.register(runRoutes(deps));
  };
}
