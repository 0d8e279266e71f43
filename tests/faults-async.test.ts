/**
 * Async calls when NATS restarts under load: a nats-server of the test's own (never the machine's) is
 * killed and started again on the same port with the same JetStream store while callers keep sending.
 * No accepted call (202) is lost: each reaches its callback (duplicates allowed, and counted); calls
 * made while NATS is down get 503.
 */
import { afterEach, expect, it } from 'vitest';
import { cleanups, deploy, enqueue, NatsServer, runCleanups, setup, sleep } from './async-support.ts';

afterEach(runCleanups);

it('loses no accepted async call when NATS restarts (same store) under steady load; 503 while it is down', async () => {
  const nats = await new NatsServer().start();
  cleanups.push(() => nats.kill());
  const { api, cb } = await setup({ natsUrl: nats.url });
  await deploy(api, 'echo', {}, 'echo');

  const accepted = new Map<string, string>();
  const statuses: number[] = [];
  let running = true;
  let n = 0;
  const senders = Array.from({ length: 8 }, async () => {
    while (running) {
      const body = `call-${n++}`;
      try {
        const { res, callId } = await enqueue(api, 'echo', { body, headers: { 'x-callback-url': cb.url }, signal: AbortSignal.timeout(10_000) });
        statuses.push(res.status);
        if (res.status === 202) accepted.set(callId, body);
        else if (res.status === 503) expect((await res.json()).error.message).toMatch(/NATS/);
        else await res.body?.cancel();
      } catch {
        statuses.push(0);
      }
      await sleep(10);
    }
  });
  try {
    await sleep(1500);
    await nats.kill();
    await sleep(2000);
    await nats.start();
    await sleep(3000);
  } finally {
    running = false;
    await Promise.all(senders);
  }

  const delivered = () => [...accepted.keys()].filter((id) => cb.of(id).length > 0).length;
  await cb.until(() => delivered() === accepted.size, 30_000, `callbacks of ${accepted.size} accepted calls`).catch(() => {});
  const perCall = [...accepted.keys()].map((id) => cb.of(id).length);
  const counts = {
    sent: statuses.length,
    accepted: statuses.filter((s) => s === 202).length,
    unavailable: statuses.filter((s) => s === 503).length,
    other: statuses.filter((s) => s !== 202 && s !== 503).length,
    callbacks: cb.deliveries.length,
    lost: perCall.filter((k) => k === 0).length,
    duplicates: perCall.reduce((sum, k) => sum + Math.max(0, k - 1), 0),
  };
  console.log(`async calls across a NATS restart: ${JSON.stringify(counts)}`);
  expect(counts.accepted).toBeGreaterThan(20);
  expect(counts.unavailable).toBeGreaterThan(0);
  expect(counts.other).toBe(0);
  expect(counts.lost).toBe(0);
  // Each callback carries its own call's body.
  for (const [id, body] of accepted) for (const d of cb.of(id)) expect(d.body.toString()).toBe(body);
}, 55_000);
