/** `spindle start` (`npm start`): the gateway on this machine, with every function of stack.yml built and deployed. */
import path from 'node:path';
import type { Command } from 'commander';
import type { Platform } from '@spindle/gateway';
import { RUNNER_BUILD } from '@spindle/gpu-runner/build';
import { buildFunctions } from '../build.ts';
import { GatewayClient } from '../client.ts';
import { deployFunctions } from '../deploy.ts';
import { deployedFunctions, deployGraphs, loadGraphs } from '../graphs.ts';
import { eprintln, println, withSpinner, type CliIo } from '../io.ts';
import { bundleProcess, stopBundler } from '../process-bundle.ts';
import { ensureWebApp } from '../web-app.ts';
import { describeBuild, reportSkipped } from './build.ts';
import { CommandContext, withCommon } from './context.ts';

/** Polls until every deployed function has a ready replica (bounded), so the first call after the banner works. */
async function waitReady(client: GatewayClient, names: string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let pending = names;
  while (pending.length && Date.now() < deadline) {
    const ready = new Set((await client.listFunctions()).filter((f) => f.availableReplicas > 0).map((f) => f.name));
    pending = pending.filter((n) => !ready.has(n));
    if (pending.length) await new Promise((r) => setTimeout(r, 50));
  }
  return pending;
}

/**
 * Builds the web app (or reuses the build of unchanged sources) while the platform starts, and hands it to the
 * gateway, which answers `/ui` with a page that reloads itself meanwhile; SPINDLE_WEB_DIR (a prebuilt app)
 * skips this. A missing or failing app is a warning: the API works without it.
 */
function startWebApp(platform: Platform, io: CliIo): { pending(): boolean; settled(waitMs: number): Promise<void> } {
  if (platform.config.webDir) return { pending: () => false, settled: async () => {} };
  let pending = true;
  const unavailable = (why: string) => {
    platform.web.unavailable(why);
    eprintln(io, `warning: ${why}; /ui answers 503 until then, the API works`);
  };
  const done = ensureWebApp({
    onBuild: () => {
      platform.web.building();
      eprintln(io, 'web app  building…');
    },
  })
    .then(
      (r) => {
        if ('dir' in r) {
          platform.web.use(r.dir);
          eprintln(io, `web app  ${r.built ? `built in ${(r.ms / 1000).toFixed(1)} s` : 'unchanged'}`);
        } else if ('missing' in r) unavailable(`no web app: ${r.missing}`);
        else {
          unavailable(`the web app did not build: ${r.failed}`);
          eprintln(io, r.output.trimEnd().split('\n').slice(-20).join('\n'));
        }
      },
      (err: Error) => unavailable(`the web app did not build: ${err.message}`),
    )
    .finally(() => {
      pending = false;
    });
  return {
    pending: () => pending,
    // Waits for the build, at most `waitMs`: a first build on a slow machine must not hold the API back for long.
    settled: (waitMs) => new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      void done.finally(() => {
        clearTimeout(timer);
        resolve();
      });
    }),
  };
}

/** Adds `spindle start` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('start'))
    .description('run the whole platform on this machine: gateway, database, object store, and every function in stack.yml')
    .action(async (flags: { gateway?: string; yaml: string }) => {
      const ctx = new CommandContext(io, flags);
      // A malformed stack.yml (graphs included) stops us before anything starts.
      const stack = await ctx.loadStack();
      await loadGraphs(stack);
      // The GPU runner runs as built JavaScript on plain node (no tsx in a long-lived process); an
      // unchanged tree is not rebuilt. `_` cannot start a function name, so this never meets a function's build.
      const runner = await bundleProcess({ ...RUNNER_BUILD, outDir: path.join(ctx.dataDir, 'build', '_gpu-runner') });
      eprintln(io, `gpu-runner  ${runner.built ? `built in ${runner.ms} ms` : 'unchanged'}`);
      // Loaded on demand: only this command needs the gateway (fastify, pg, PGlite...).
      const { startPlatform } = await import('@spindle/gateway');
      const { url, platform, logFile } = await startPlatform({ config: { dataDir: ctx.dataDir }, runnerMain: runner.files.main });
      // Progress goes to stderr; stdout carries the one line that says the platform is up.
      const progress: CliIo = { ...io, stdout: io.stderr };
      const web = startWebApp(platform, progress);
      const client = new GatewayClient({ url, credentials: { user: 'admin', password: platform.adminPassword } });
      // Functions the gateway kept from an earlier start count too; checked before anything is deployed.
      const graphs = await loadGraphs(stack, { deployed: () => deployedFunctions(client) });
      reportSkipped(progress, stack);
      await withSpinner(progress, 'building', () =>
        buildFunctions(stack, { dataDir: ctx.dataDir, onResult: (r) => eprintln(io, describeBuild(r)) }),
      );
      // Nothing in this process builds again: esbuild's service process would otherwise live on (~90 MB after the GPU bundles).
      await stopBundler();
      const deployed = await withSpinner(progress, 'deploying', () =>
        deployFunctions(client, stack, { dataDir: ctx.dataDir, onResult: (r) => eprintln(io, `${r.name}  ${r.action} in ${r.ms} ms`) }),
      );
      await deployGraphs(client, graphs, (name, version) => eprintln(io, `graph ${name}  deployed (version ${version})`));
      const late = await waitReady(client, deployed.map((d) => d.name), 30_000);
      for (const name of late) eprintln(io, `warning: ${name} has no ready replica yet; see \`spindle logs ${name}\``);
      eprintln(io, `logs: ${logFile}; admin password: ${platform.config.adminPassword ? '$SPINDLE_ADMIN_PASSWORD' : `${ctx.dataDir}/admin-password`}`);
      // The banner waits a little for the web app, so /ui usually works once it is printed.
      await web.settled(30_000);
      if (web.pending()) eprintln(io, 'web app  still building: /ui shows a page that reloads until it is ready');
      println(io, `Spindle gateway listening on ${url}`);
      eprintln(io, `web app: ${url}/ui (user admin, the admin password)`);
      // The gateway's own SIGINT/SIGTERM handlers stop everything; until then, keep running.
      await new Promise<never>(() => {});
    });
}
