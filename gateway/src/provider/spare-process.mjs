/**
 * A replica process started before it is needed: Node has booted and the IPC channel is open. The gateway
 * sends one `{ type: 'run', bundlePath, cwd, env }` message and this process becomes that replica: it takes
 * the replica's working folder and environment and imports the bundle, whose watchdog reports ready as in
 * a replica spawned for it. Plain JavaScript: replicas run on `node` alone, without tsx.
 */
import { pathToFileURL } from 'node:url';
// Every replica's watchdog serves HTTP: load it while idle rather than on a cold call.
import 'node:http';

process.once('message', (msg) => {
  if (msg?.type !== 'run' || typeof msg.bundlePath !== 'string') process.exit(2);
  process.chdir(msg.cwd);
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, msg.env);
  process.argv[1] = msg.bundlePath;
  import(pathToFileURL(msg.bundlePath).href).catch((err) => {
    console.error(err);
    process.exit(1);
  });
});
// The gateway went away before handing over work.
process.once('disconnect', () => process.exit(0));
