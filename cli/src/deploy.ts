/** Deploys built functions: upload the bundle when the gateway lacks it, then PUT (or POST) the deployment. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DeployRequest } from '@spindle/schemas';
import { isBuildable, readBuild } from './build.ts';
import type { GatewayClient } from './client.ts';
import { NotBuiltError, UsageError } from './errors.ts';
import { selectFunctions, type LoadedStack, type StackEntry } from './stack.ts';
import { readYaml } from './yaml.ts';

export interface DeployResult {
  name: string;
  digest: string;
  /** False when the gateway already had the bundle. */
  uploaded: boolean;
  action: 'created' | 'updated';
  ms: number;
}

export interface DeployFunctionsOptions {
  /** Data dir holding `build/<name>/bundle.mjs`. */
  dataDir: string;
  filter?: string;
  /** Called as each function is deployed. */
  onResult?: (result: DeployResult) => void;
}

/** `environment_file` entries (YAML files with an `environment:` map, as in faas-cli) merged, then `environment`. */
async function envVars(stack: LoadedStack, entry: StackEntry): Promise<Record<string, string>> {
  const merged: Record<string, unknown> = {};
  for (const file of entry.spec.environment_file ?? []) {
    // loadStack refused files outside the stack's folder.
    const abs = path.resolve(stack.dir, file);
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch (err) {
      throw new UsageError(`${entry.name}: cannot read environment_file ${file}: ${(err as Error).message}`);
    }
    const parsed = readYaml(text, file).value as { environment?: Record<string, unknown> } | null;
    Object.assign(merged, parsed?.environment ?? {});
  }
  Object.assign(merged, entry.spec.environment ?? {});
  return Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, String(v)]));
}

/** The OpenFaaS deployment body for a stack entry whose bundle has `digest` (GPU functions: with their model digests). */
export async function deployRequestFor(stack: LoadedStack, entry: StackEntry, digest: string, models: string[] = []): Promise<DeployRequest> {
  const { spec } = entry;
  const request: DeployRequest = {
    service: entry.name,
    image: `bundle://${digest}`,
    envVars: await envVars(stack, entry),
    labels: spec.labels ?? {},
    annotations: spec.lang === 'gpu' ? { ...spec.annotations, 'com.spindle.lang': 'gpu', 'com.spindle.gpu.models': models.join(',') } : (spec.annotations ?? {}),
    secrets: spec.secrets ?? [],
  };
  if (spec.limits) request.limits = spec.limits;
  if (spec.requests) request.requests = spec.requests;
  if (spec.namespace) request.namespace = spec.namespace;
  return request;
}

/** What deploying one function needs: its build, and its deployment body. */
type Build = { digest: string; bytes: Uint8Array; models?: Array<{ digest: string; path: string }> };

/** Uploads one function's bundle if missing and deploys it. */
export async function deployFunction(client: GatewayClient, stack: LoadedStack, entry: StackEntry, build: Build): Promise<DeployResult> {
  return send(client, entry, build, await deployRequestFor(stack, entry, build.digest, (build.models ?? []).map((m) => m.digest)));
}

async function send(client: GatewayClient, entry: StackEntry, build: Build, request: DeployRequest): Promise<DeployResult> {
  const started = performance.now();
  let uploaded = false;
  // Models go first (content-addressed like bundles): the gateway refuses a GPU deploy whose models it lacks.
  for (const m of build.models ?? []) {
    if (!(await client.hasBundle(m.digest))) await client.uploadBundle(m.digest, await readFile(m.path));
  }
  if (!(await client.hasBundle(build.digest))) {
    await client.uploadBundle(build.digest, build.bytes);
    uploaded = true;
  }
  const action = await client.deployFunction(request);
  return { name: entry.name, digest: build.digest, uploaded, action, ms: Math.round(performance.now() - started) };
}

/**
 * Deploys the stack's built functions (all, or those matching `filter`), one after another, once every
 * one of them is ready to go.
 * @example await deployFunctions(client, await loadStack('stack.yml'), { dataDir: '.spindle' });
 */
export async function deployFunctions(client: GatewayClient, stack: LoadedStack, opts: DeployFunctionsOptions): Promise<DeployResult[]> {
  // Whatever can fail here (a missing build, an unreadable environment file) fails before anything is sent.
  const prepared: Array<{ entry: StackEntry; build: Build; request: DeployRequest }> = [];
  for (const entry of selectFunctions(stack, opts.filter).filter(isBuildable)) {
    const build = await readBuild(opts.dataDir, entry.name);
    if (!build) throw new NotBuiltError(entry.name);
    prepared.push({ entry, build, request: await deployRequestFor(stack, entry, build.digest, (build.models ?? []).map((m) => m.digest)) });
  }
  const results: DeployResult[] = [];
  for (const { entry, build, request } of prepared) {
    const result = await send(client, entry, build, request);
    opts.onResult?.(result);
    results.push(result);
  }
  return results;
}
