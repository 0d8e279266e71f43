/** `/function/<gpu function>`: the body is read whole, enqueued on the GPU stream, and the runner's answer sent back. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { unlessCallerLeft } from '../caller.ts';
import { PayloadTooLargeError, SpindleError } from '../errors.ts';
import type { LiveFunction } from '../functions.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { GpuService } from './service.ts';

function readBody(request: FastifyRequest, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.raw.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) return void reject(new PayloadTooLargeError(limit));
      chunks.push(c);
    });
    request.raw.on('end', () => resolve(Buffer.concat(chunks)));
    request.raw.on('error', reject);
  });
}

/** Serves one GPU invocation with the same headers, metrics and error shape as a replica call. */
export async function invokeGpuRoute(
  request: FastifyRequest,
  reply: FastifyReply,
  fn: LiveFunction & { gpu: { queueLimit: number } },
  deps: { gpu: GpuService; metrics: GatewayMetrics; maxBodyBytes: number },
  callId: string,
): Promise<void> {
  const name = fn.record.name;
  const startNs = process.hrtime.bigint();
  reply.header('x-call-id', callId).header('x-start-time', String(BigInt(Date.now()) * 1_000_000n));
  deps.metrics.start(name);
  let status = 500;
  try {
    const body = request.method === 'GET' || request.method === 'HEAD' ? Buffer.alloc(0) : await readBody(request, deps.maxBodyBytes);
    const contentType = (request.headers['content-type'] as string | undefined) ?? 'application/octet-stream';
    const answer = await deps.gpu.call({ name, callId, contentType, body, timeoutMs: fn.timeoutMs, queueLimit: fn.gpu.queueLimit });
    status = answer.status;
    reply.code(answer.status).header('content-type', answer.contentType).header('x-duration-seconds', (Number(process.hrtime.bigint() - startNs) / 1e9).toFixed(6));
    return reply.send(answer.body);
  } catch (err) {
    // A caller that left mid-body (ECONNRESET "aborted") is a 499, logged at debug by the error handler.
    const e = unlessCallerLeft(request.raw, err);
    status = e instanceof SpindleError ? e.statusCode : 500;
    throw e;
  } finally {
    deps.metrics.finish(name, status, Number(process.hrtime.bigint() - startNs) / 1e9);
  }
}
