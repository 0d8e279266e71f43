/** `/system/graphs`: deploy, list, describe and remove graph definitions. */
import type { FastifyPluginAsync } from 'fastify';
import { NotFoundError } from '../errors.ts';
import type { GraphExecutor } from '../graphs/executor.ts';
import type { GraphRecord, GraphStore } from '../graphs/store.ts';
import { validGraph } from '../graphs/validate.ts';
import { validName } from './validate.ts';

const view = (g: GraphRecord) => ({ name: g.name, version: g.version, definition: g.definition, createdAt: g.createdAt, updatedAt: g.updatedAt });

export function graphRoutes(graphs: GraphStore, executor: GraphExecutor): FastifyPluginAsync {
  return async (app) => {
    app.get('/system/graphs', async () => (await graphs.list()).map(view));
    app.get<{ Params: { name: string } }>('/system/graphs/:name', async (req) => {
      const graph = await graphs.get(validName(req.params.name, 'graph'));
      if (!graph) throw new NotFoundError(`graph "${req.params.name}" is not deployed`);
      return view(graph);
    });
    app.put<{ Params: { name: string } }>('/system/graphs/:name', async (req, reply) => {
      const name = validName(req.params.name, 'graph');
      // Everything but the deployed functions is checked here, the input schema compiled: a graph that is
      // stored can always be run (executor.deploy then checks the functions).
      const definition = validGraph(req.body);
      const graph = await executor.deploy(name, definition);
      return reply.code(graph.version === 1 ? 201 : 200).send(view(graph));
    });
    app.delete<{ Params: { name: string } }>('/system/graphs/:name', async (req, reply) => {
      const name = validName(req.params.name, 'graph');
      if (!(await graphs.remove(name))) throw new NotFoundError(`graph "${name}" is not deployed`);
      return reply.code(204).send();
    });
  };
}
