/** `GET /system/runner`: the GPU runner's heartbeat (EP, device, functions, models, memory, batches) plus queue depth. */
import type { FastifyPluginAsync } from 'fastify';
import type { GpuService } from '../gpu/service.ts';
import { wholeNumber } from './validate.ts';

/** Dead letters listed at most (`?deadLetters=`, default 10). */
const MAX_DEAD_LETTERS = 100;

/**
 * The runner status route (inside the authenticated /system scope); `alive: false` with a reason when there is
 * none. Besides the heartbeat: queue depth per function and the dead-lettered jobs (count and the newest
 * `?deadLetters=N`, bodies left out).
 */
export function runnerRoutes(gpu: GpuService | undefined): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: { deadLetters?: string } }>('/system/runner', async (req) => {
      const limit = wholeNumber(req.query, 'deadLetters', 0, MAX_DEAD_LETTERS, 10);
      const status = gpu?.runner();
      const deadLetters = gpu ? await gpu.client.deadLetters(limit).catch(() => ({ count: 0, recent: [] })) : { count: 0, recent: [] };
      if (!gpu || !status) {
        const message = gpu ? `${gpu.client.unavailable() ?? 'no GPU runner is alive'}; GPU functions answer 503 until it is` : 'this gateway has no GPU runner configured';
        return { alive: false, message, queueDepth: gpu ? await gpu.client.depth().catch(() => ({})) : {}, deadLetters };
      }
      return { alive: true, ...status, queueDepth: await gpu.client.depth(), deadLetters };
    });
  };
}
