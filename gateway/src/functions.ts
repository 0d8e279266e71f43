/** Deployments: from an OpenFaaS deploy request to stored records and running replicas. */
import type { Logger } from 'pino';
import { ANNOTATIONS, NAMESPACE, parseDuration, parseScaling, type DeployRequest, type FunctionStatus, type ScalingRules } from '@spindle/schemas';
import { BadRequestError, NotFoundError, UnavailableError, type SpindleError } from './errors.ts';
import type { GatewayMetrics } from './metrics.ts';
import { isGpuSpec } from './gpu/service.ts';
import type { Provider, ProviderFunctionSpec } from './provider/types.ts';
import type { BundleStore, DeploymentStore, SecretStore } from './store/index.ts';
import type { DeploymentRecord } from './store/types.ts';
import type { DeploymentVersion } from './store/repositories.ts';

const IMAGE = /^bundle:\/\/sha256:([a-f0-9]{64})$/;
export { NAMESPACE };

/** Where a function runs: `control` functions as replicas, `gpu` functions in the one GPU runner. */
export type Plane = 'control' | 'gpu';

/** What the invoke path needs about a function, kept in memory so invoking never touches the database. */
export interface LiveFunction {
  record: DeploymentRecord;
  plane: Plane;
  /** The provider that runs it (the call core dispatches to it). */
  provider: Provider;
  timeoutMs: number;
  /** Its `com.openfaas.scale.*` labels, read once at deploy (the autoscaler reads them every turn). */
  scaling: ScalingRules;
}

export interface FunctionServiceDeps {
  deployments: DeploymentStore;
  bundles: BundleStore;
  secrets: SecretStore;
  /** A provider per plane; without a `gpu` one, a GPU deploy is a 400. */
  providers: { control: Provider; gpu?: Provider };
  metrics: GatewayMetrics;
  /** Where bundles are copied out of the object store so `node` can run them. */
  bundleDir: string;
  logger: Logger;
  defaultTimeoutMs: number;
}

/** The scaling labels of a deploy request, or a 400 naming the first wrong label. */
export function scalingOf(labels: Record<string, string> | undefined): ScalingRules {
  const { rules, problem } = parseScaling(labels);
  if (problem) throw new BadRequestError(`field "labels.${problem.label}" ${problem.message}`);
  return rules;
}

/** Reads OpenFaaS's exec_timeout / com.openfaas.timeout (a Go duration such as "1m30s", or seconds); 400 naming `field` when malformed. */
export function parseTimeout(value: string | undefined, field: string, fallbackMs: number): number {
  if (value === undefined || value === '') return fallbackMs;
  const ms = parseDuration(value);
  if (ms === null) throw new BadRequestError(`field "${field}" must be a duration like "30s", "1m30s" or "500ms", got "${value.slice(0, 64)}"`);
  if (ms <= 0) throw new BadRequestError(`field "${field}" must be longer than zero`);
  return ms;
}

/** The digest an image names, or a 400 that says what an image must look like. */
export function bundleDigest(image: string): string {
  const m = IMAGE.exec(image);
  if (!m) {
    throw new BadRequestError(
      `field "image" must name an uploaded bundle as bundle://sha256:<64 hex digits>, got "${image}": Spindle runs esbuild bundles, not container images; ` +
        'build and upload one with `spindle up`, or PUT the bytes to /system/bundles/sha256:<digest>',
    );
  }
  return m[1];
}

/** Deploys, removes, scales and describes functions; the one place that joins store and provider. */
export class FunctionService {
  private readonly live = new Map<string, LiveFunction>();
  /** True while stored functions are being brought back at start-up. */
  restoring = false;
  constructor(private readonly deps: FunctionServiceDeps) {}

  /** The running function `name`, or undefined. Hot path: no I/O. */
  lookup(name: string): LiveFunction | undefined {
    return this.live.get(name);
  }

  /** Every function this gateway runs. */
  all(): LiveFunction[] {
    return [...this.live.values()];
  }

  /** Validates and applies a deploy request (`mode: update` answers 404 for an unknown function, as OpenFaaS's PUT does). */
  async deploy(spec: DeployRequest, mode: 'create' | 'update' | 'upsert'): Promise<DeploymentRecord> {
    const digest = bundleDigest(spec.image);
    if (mode === 'update' && !this.live.has(spec.service) && !(await this.deps.deployments.get(spec.service))) {
      throw new NotFoundError(`function "${spec.service}" is not deployed: create it with POST /system/functions`);
    }
    const scaling = scalingOf(spec.labels);
    const timeoutMs = this.timeoutOf(spec);
    if (!(await this.deps.bundles.has(digest))) {
      throw new BadRequestError(`field "image": the gateway has no bundle sha256:${digest}; upload it first (PUT /system/bundles/sha256:${digest})`);
    }
    await this.secretValues(spec.secrets ?? []);
    const { namespace: _ns, ...stored } = spec;
    let record = await this.deps.deployments.upsert(stored as DeployRequest);
    // A redeploy starts again from the scaling labels, as OpenFaaS does.
    if (record.replicas !== null) record = (await this.deps.deployments.setReplicas(spec.service, null)) ?? record;
    await this.start(record, scaling, timeoutMs);
    this.deps.logger.info({ function: spec.service, version: record.version, image: spec.image }, 'function deployed');
    return record;
  }

  /** Brings back every stored deployment after a gateway restart. */
  async restore(): Promise<number> {
    this.restoring = true;
    try {
      const records = await this.deps.deployments.list();
      await Promise.all(
        records.map((record) =>
          this.start(record, this.storedScaling(record), this.timeoutOf(record.spec)).catch((err) =>
            this.deps.logger.error({ err, function: record.name }, 'could not restore function'),
          ),
        ),
      );
      return records.length;
    } finally {
      this.restoring = false;
    }
  }

  /**
   * The error for a name that is not live: while the gateway is still bringing stored functions back
   * after a start, a 503 to retry (a 404 would send async calls to the dead letters); else a 404.
   */
  notLive(name: string): SpindleError {
    if (this.restoring) return new UnavailableError(`the gateway is restoring its functions after a start; retry in a moment (${name})`, 1);
    return new NotFoundError(`function "${name}" is not deployed; \`spindle list\` shows what is`);
  }

  /** Removes a function and stops its replicas. */
  async remove(name: string): Promise<void> {
    const existed = await this.deps.deployments.remove(name);
    if (!existed && !this.live.has(name)) throw new NotFoundError(`function "${name}" is not deployed`);
    const fn = this.live.get(name);
    this.live.delete(name);
    // Not live (a restore that failed): whichever provider may still hold it lets it go.
    const providers = fn ? [fn.provider] : Object.values(this.deps.providers).filter((p): p is Provider => p !== undefined);
    await Promise.all(providers.map((p) => p.remove(name)));
  }

  /**
   * Sets the replica count (`scale-function`): 0 scales to zero, anything else is kept within the scaling
   * labels. The count is stored, so a gateway restart brings it back. For a function the autoscaler manages
   * (min below max) this is a nudge, as in OpenFaaS Pro: the autoscaler takes over from the new count.
   */
  async scale(name: string, replicas: number): Promise<number> {
    const fn = this.live.get(name);
    if (!fn) throw new NotFoundError(`function "${name}" is not deployed`);
    const wanted = replicas === 0 ? 0 : Math.min(fn.scaling.max, Math.max(fn.scaling.min, replicas));
    // GPU functions have no replicas to scale: they live in the one GPU runner.
    if (!fn.provider.scale(name, wanted)) return fn.provider.status(name)?.replicas ?? 1;
    const record = await this.deps.deployments.setReplicas(name, wanted);
    if (record) fn.record = record;
    return wanted;
  }

  /** The autoscaler's change of the replica count: applied, not stored (a restart starts again from the labels). */
  autoscale(name: string, replicas: number): void {
    this.live.get(name)?.provider.scale(name, replicas);
  }

  /**
   * OpenFaaS's FunctionStatus for `name`: `replicas` is the count wanted (by the autoscaler, a scale call or
   * the labels), `availableReplicas` the ones ready. GPU functions have no replicas to scale; they report the
   * jobs queued or running for them as `queueDepth`.
   */
  async status(name: string): Promise<FunctionStatus> {
    const fn = this.live.get(name);
    if (!fn) throw new NotFoundError(`function "${name}" is not deployed`);
    const { spec } = fn.record;
    const counts = fn.provider.status(name) ?? { replicas: 0, availableReplicas: 0 };
    const queueDepth = fn.provider.queueDepth ? await fn.provider.queueDepth(name) : undefined;
    const schemas = fn.provider.schemas?.(name);
    return {
      name,
      image: spec.image,
      namespace: NAMESPACE,
      ...(spec.envProcess !== undefined && { envProcess: spec.envProcess }),
      envVars: spec.envVars ?? {},
      labels: spec.labels ?? {},
      annotations: spec.annotations ?? {},
      secrets: spec.secrets ?? [],
      constraints: spec.constraints ?? [],
      ...(spec.limits && { limits: spec.limits }),
      ...(spec.requests && { requests: spec.requests }),
      readOnlyRootFilesystem: spec.readOnlyRootFilesystem ?? false,
      invocationCount: this.deps.metrics.invocationCount(name),
      replicas: counts.replicas,
      availableReplicas: counts.availableReplicas,
      ...(queueDepth !== undefined && { queueDepth }),
      createdAt: fn.record.createdAt.toISOString(),
      plane: fn.plane,
      version: fn.record.version,
      deployedAt: fn.record.updatedAt.toISOString(),
      ...(schemas?.input && { inputSchema: schemas.input }),
      ...(schemas?.output && { outputSchema: schemas.output }),
    };
  }

  /** The last `limit` deploys of `name`, newest first (secrets by name only, as deployed); 404 for an unknown function. */
  async history(name: string, limit: number): Promise<DeploymentVersion[]> {
    const versions = await this.deps.deployments.recent(name, limit);
    if (versions.length === 0 && !this.live.has(name)) throw new NotFoundError(`function "${name}" is not deployed`);
    return versions;
  }

  /** Every function's status, sorted by name. */
  list(): Promise<FunctionStatus[]> {
    return Promise.all([...this.live.keys()].sort().map((n) => this.status(n)));
  }

  /**
   * The scaling of a stored deployment. One stored before a label was checked as it is now keeps running:
   * each refused label is logged and left at its default, rather than the function not coming back.
   */
  private storedScaling(record: DeploymentRecord): ScalingRules {
    const labels = { ...(record.spec.labels ?? {}) };
    for (;;) {
      const { rules, problem } = parseScaling(labels);
      if (rules) return rules;
      this.deps.logger.warn({ function: record.name, label: problem.label }, `label ${problem.label} ${problem.message}; using its default`);
      // A label already dropped that is still wrong (max below min) leaves only the defaults.
      if (!(problem.label in labels)) return parseScaling({}).rules!;
      delete labels[problem.label];
    }
  }

  private timeoutOf(spec: DeployRequest): number {
    const annotation = spec.annotations?.[ANNOTATIONS.timeout];
    if (annotation !== undefined) return parseTimeout(annotation, `annotations.${ANNOTATIONS.timeout}`, this.deps.defaultTimeoutMs);
    return parseTimeout(spec.envVars?.exec_timeout, 'envVars.exec_timeout', this.deps.defaultTimeoutMs);
  }

  private async secretValues(names: string[]): Promise<Map<string, Buffer>> {
    try {
      return await this.deps.secrets.values(names);
    } catch (err) {
      if (err instanceof NotFoundError) throw new BadRequestError(`field "secrets": ${err.message}; create it with \`spindle secret create\``);
      throw err;
    }
  }

  /** Copies the bundle out of the object store (once per digest) and hands the function to the provider. */
  private async start(record: DeploymentRecord, scaling: ScalingRules, timeoutMs: number): Promise<void> {
    const digest = bundleDigest(record.spec.image);
    const bundlePath = await this.deps.bundles.localCopy(digest, this.deps.bundleDir, '.mjs');
    if (!bundlePath) throw new BadRequestError(`bundle sha256:${digest} is missing from the object store`);
    const plane: Plane = isGpuSpec(record.spec) ? 'gpu' : 'control';
    const provider = this.deps.providers[plane];
    if (!provider) throw new BadRequestError(`function "${record.name}" is a GPU function, and this gateway has no GPU runner configured`);
    const spec: ProviderFunctionSpec = {
      name: record.name,
      version: record.version,
      bundlePath,
      digest,
      env: { ...(record.spec.envVars ?? {}) },
      secrets: await this.secretValues(record.spec.secrets ?? []),
      minReplicas: scaling.min,
      maxReplicas: scaling.max,
      replicas: record.replicas ?? scaling.min,
      timeoutMs,
      labels: record.spec.labels ?? {},
      annotations: record.spec.annotations ?? {},
    };
    // A function that moved plane (control ↔ gpu) leaves the other provider.
    const previous = this.live.get(record.name);
    if (previous && previous.provider !== provider) await previous.provider.remove(record.name);
    await provider.deploy(spec);
    this.live.set(record.name, { record, plane, provider, timeoutMs, scaling });
  }
}
