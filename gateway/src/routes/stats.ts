/**
 * `GET /system/stats?window=900&step=10`: invocations per second, error rate and p50/p99 latency over the last
 * `window` seconds in points of `step` seconds, in all and per function. From Prometheus when PROMETHEUS_URL
 * is set (falling back, with a `warning`, to the gateway's own numbers when it fails), else from the gateway's
 * own rolling numbers (stats/calls.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import { BadRequestError } from '../errors.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { PrometheusStats } from '../stats/prometheus.ts';
import { wholeNumber } from './validate.ts';

/** Points one answer may hold. */
export const MAX_POINTS = 1000;

/** The stats route (inside the authenticated /system scope). */
export function statsRoutes(metrics: GatewayMetrics, prometheus?: PrometheusStats): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: { window?: string; step?: string } }>('/system/stats', async (req) => {
      const window = wholeNumber(req.query, 'window', 60, 86_400, 900);
      const step = wholeNumber(req.query, 'step', 1, 3600, 10);
      if (window / step > MAX_POINTS) throw new BadRequestError(`query "step" must be at least window / ${MAX_POINTS} (${Math.ceil(window / MAX_POINTS)} s for a window of ${window} s): at most ${MAX_POINTS} points`);
      if (step > window) throw new BadRequestError(`query "step" must not be longer than the window (${window} s)`);
      if (!prometheus) return metrics.calls.query(window, step);
      try {
        return await prometheus.query(window, step);
      } catch (err) {
        req.log.warn({ err: (err as Error).message, prometheus: prometheus.shown }, 'Prometheus query failed; answering with the gateway numbers');
        return { ...metrics.calls.query(window, step), warning: `Prometheus at ${prometheus.shown} failed (${(err as Error).message}); these are this gateway's own numbers` };
      }
    });
  };
}
