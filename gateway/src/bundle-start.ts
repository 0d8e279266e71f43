/** Entry point of the function runtime image (infra/runtime.Dockerfile): `node bundle-start.mjs`. */
import { main } from './bundle-main.ts';

main().catch((err: unknown) => {
  process.stderr.write(`spindle-runtime: ${(err as Error).message}\n`);
  process.exit(1);
});
