/** LangGraph Platform assistants: every deployed graph is one (search, count, get, graph, schemas, subgraphs). */
import type { FastifyPluginAsync } from 'fastify';
import type { GraphRecord } from '../graphs/store.ts';
import { assistantSearch } from './body.ts';
import type { LanggraphDeps } from './deps.ts';
import { assistantView, findAssistant, graphView, schemasView } from './views.ts';

type AssistantParams = { Params: { assistantId: string } };

export function assistantRoutes(deps: Pick<LanggraphDeps, 'graphs'>): FastifyPluginAsync {
  /** The graphs whose assistants match a search (graph id, name, metadata), sorted as asked. */
  async function matching(body: unknown) {
    const q = assistantSearch(body);
    const views = (await deps.graphs.list()).map((g: GraphRecord) => assistantView(g));
    const wanted = Object.entries(q.metadata ?? {});
    const found = views.filter(
      (a) =>
        (q.graph_id === undefined || a.graph_id === q.graph_id) &&
        (q.name === undefined || a.name.includes(q.name)) &&
        wanted.every(([k, v]) => JSON.stringify((a.metadata as Record<string, unknown>)[k]) === JSON.stringify(v)),
    );
    const key = q.sort_by ?? 'created_at';
    const sign = (q.sort_order ?? (q.sort_by ? 'asc' : 'desc')) === 'asc' ? 1 : -1;
    found.sort((a, b) => sign * String(a[key] instanceof Date ? (a[key] as Date).toISOString() : a[key]).localeCompare(String(b[key] instanceof Date ? (b[key] as Date).toISOString() : b[key])));
    return { q, found };
  }

  return async (app) => {
    app.post('/assistants/search', async (req, reply) => {
      const { q, found } = await matching(req.body);
      const offset = q.offset ?? 0;
      const limit = q.limit ?? 10;
      if (found.length > offset + limit) reply.header('x-pagination-next', String(offset + limit));
      return found.slice(offset, offset + limit);
    });
    app.post('/assistants/count', async (req) => (await matching(req.body)).found.length);
    app.get<AssistantParams>('/assistants/:assistantId', async (req) => assistantView(await findAssistant(deps.graphs, req.params.assistantId)));
    app.get<AssistantParams>('/assistants/:assistantId/graph', async (req) => graphView((await findAssistant(deps.graphs, req.params.assistantId)).definition));
    app.get<AssistantParams>('/assistants/:assistantId/schemas', async (req) => schemasView(await findAssistant(deps.graphs, req.params.assistantId)));
    // Spindle graphs have no subgraphs.
    app.get<AssistantParams>('/assistants/:assistantId/subgraphs', async (req) => {
      await findAssistant(deps.graphs, req.params.assistantId);
      return {};
    });
  };
}
