/**
 * How the runner is built into plain JavaScript (the CLI's process bundler does it at `spindle start`): its
 * two entry points, and the constant that points the built main thread at the built worker (pool.ts).
 */
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Output stem → TypeScript entry; the shape the CLI's `bundleProcess` takes. */
export const RUNNER_BUILD = {
  name: 'gpu-runner',
  entries: {
    main: fileURLToPath(new URL('./main.ts', import.meta.url)),
    worker: fileURLToPath(new URL('./worker.ts', import.meta.url)),
  },
  define: (outputs: Record<string, string>): Record<string, string> => ({ SPINDLE_RUNNER_WORKER_URL: JSON.stringify(pathToFileURL(outputs.worker).href) }),
};
