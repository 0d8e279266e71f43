/** `GET /system/runner`: the GPU runner's heartbeat (EP, device, functions, models, memory, batches) plus queue depth. */
import type { FastifyPluginAsync } from 'fastify';
import type { GpuService } from '../gpu/service.ts';

/** The runner status route (inside the authenticated /system scope); `alive: false` with a reason when there is none. */
export function runnerRoutes(gpu: GpuService | undefined): FastifyPluginAsync {
  return async (app) => {
    app.get('/system/runner', async () => {
      const status = gpu?.runner();
      if (!gpu || !status) {
        const message = gpu ? `${gpu.client.unavailable() ?? 'no GPU runner is alive'}; GPU functions answer 503 until it is` : 'this gateway has no GPU runner configured';
        return { alive: false, message, queueDepth: gpu ? await gpu.client.depth().catch(() => ({})) : {} };
      }
      return { alive: true, ...status, queueDepth: await gpu.client.depth() };
    });
  };
}
