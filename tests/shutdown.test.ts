/** Stopping the gateway does not wait on streams that never end by themselves (logs --follow, run events). */
import { expect, it } from 'vitest';
import { startPlatform } from './harness.ts';

it('closes with a followed log stream open, and leaves no replica behind', async () => {
  const { api, platform, stop } = await startPlatform();
  expect((await api.deploy('echo', 'echo')).status).toBe(202);
  await api.waitReplicas('echo', 1);
  const pids = platform.provider.replicas('echo').map((r) => r.pid!);
  const follow = await api.system('GET', '/system/logs?name=echo&follow=true');
  expect(follow.status).toBe(200);
  const reading = follow.text();
  const t0 = Date.now();
  await stop();
  expect(Date.now() - t0).toBeLessThan(8000);
  await reading; // the stream was ended, not left hanging
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
}, 60_000);
