/** `npm start` starts local Redis / NATS servers when none answer, and says what to install when it cannot. */
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { answers, ensureService, natsService, redisService, type LocalService } from '@spindle/gateway';
import { tempDir } from './harness.ts';

const started: Array<{ kill(): void }> = [];
afterAll(() => {
  for (const c of started) c.kill();
});
const port = () => 30000 + Math.floor(Math.random() * 20000);

describe('local services for npm start', () => {
  it.each([
    ['NATS', (p: number) => natsService(`nats://127.0.0.1:${p}`)],
    ['Redis', (p: number) => redisService(`redis://127.0.0.1:${p}`)],
  ])('starts a local %s when nothing answers, and reuses one that does', async (_name, make) => {
    const p = port();
    const dir = await tempDir();
    const child = await ensureService(make(p), dir, pino({ level: 'silent' }));
    expect(child).not.toBeNull();
    started.push(child!);
    expect(await answers('127.0.0.1', p)).toBe(true);
    expect(await ensureService(make(p), dir, pino({ level: 'silent' }))).toBeNull();
    child!.kill();
  });

  it('says exactly what to install when the binary is missing', async () => {
    const missing: LocalService = { ...natsService(`nats://127.0.0.1:${port()}`), binary: 'no-such-server-binary', install: 'apt-get install no-such-server' };
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      expect(await ensureService(missing, await tempDir(), pino({ level: 'silent' }))).toBeNull();
    } finally {
      process.stderr.write = write;
    }
    expect(lines.join('')).toMatch(/NATS is not reachable at nats:\/\/127\.0\.0\.1:\d+; async invocations answer 503 until it is: install it \(apt-get install no-such-server\)/);
  });
});
