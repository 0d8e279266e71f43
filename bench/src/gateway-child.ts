/**
 * A real Spindle gateway in its own process (its own event loop), for the bench: data dir from
 * SPINDLE_DATA_DIR (else a temp dir it removes), port 0, warn logs. Prints `{"msg":"listening","url":...}`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromEnv, createPlatform } from '@spindle/gateway';

const ownDir = process.env.SPINDLE_DATA_DIR ? null : await mkdtemp(join(tmpdir(), 'spindle-bench-gw-'));
const config = { ...configFromEnv(process.env), ...(ownDir ? { dataDir: ownDir } : {}), port: 0, logLevel: 'warn' };
const platform = await createPlatform(config);

let stopping: Promise<never> | null = null;
/** Closes the platform (its replicas too) once, however many signals arrive, then exits. */
function stop(code: number): Promise<never> {
  stopping ??= (async () => {
    await platform.close().catch((err: unknown) => console.error('closing the gateway failed:', err));
    if (ownDir) await rm(ownDir, { recursive: true, force: true });
    process.exit(code);
  })();
  return stopping;
}
process.once('SIGTERM', () => void stop(0));
process.once('SIGINT', () => void stop(0));
// The bench went away without stopping us (killed): stop too, replicas included.
process.once('disconnect', () => void stop(0));

try {
  const url = await platform.listen();
  process.stdout.write(`${JSON.stringify({ msg: 'listening', url })}\n`);
} catch (err) {
  console.error('the gateway did not start:', err);
  await stop(1);
}
