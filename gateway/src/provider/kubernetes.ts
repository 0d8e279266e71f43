/**
 * The Kubernetes provider: a control function is a Deployment of the generic runtime image (started from its
 * bundle digest) plus a Service, in one namespace (kubernetes-objects.ts builds them). Deploys are server-side
 * applies; scale patches `spec.replicas` (the autoscaler drives it); readiness comes from a watch on the
 * Deployments (an informer), logs from following each pod's log; removal deletes all three objects.
 * Selected with SPINDLE_PROVIDER=kubernetes (config.ts); @kubernetes/client-node is loaded only then.
 */
import { Writable } from 'node:stream';
import type * as K8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import { BadGatewayError, NotFoundError, SpindleError, TimeoutError, UnavailableError } from '../errors.ts';
import type { LogHub } from '../logs.ts';
import { deploymentStatus, FUNCTION_LABEL, FUNCTION_PORT, functionDeployment, functionSecret, functionService, MANAGED_BY, secretName, type KubernetesSettings } from './kubernetes-objects.ts';
import type { AnswerSink, ProgressEvent, Provider, ProviderCall, ProviderFunctionSpec, ReplicaStatus } from './types.ts';

export interface KubernetesProviderOptions extends KubernetesSettings {
  /** The client library, loaded by the wiring point (main.ts) only when this provider is chosen. */
  k8s: typeof K8s;
  kubeConfig: K8s.KubeConfig;
  logs: LogHub;
  logger: Logger;
  /** Base URL of a function's Service; default `http://<name>.<namespace>.svc:8080` (in-cluster DNS). */
  serviceUrl?: (name: string) => string;
}

const FIELD_MANAGER = 'spindle-gateway';
const SELECTOR = Object.entries(MANAGED_BY)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');

function statusCode(err: unknown): number | undefined {
  return (err as { code?: number } | null)?.code;
}

export class KubernetesProvider implements Provider {
  private readonly objects: K8s.KubernetesObjectApi;
  private readonly apps: K8s.AppsV1Api;
  private readonly core: K8s.CoreV1Api;
  private readonly deployments: K8s.Informer<K8s.V1Deployment> & K8s.ObjectCache<K8s.V1Deployment>;
  private readonly pods: K8s.Informer<K8s.V1Pod> & K8s.ObjectCache<K8s.V1Pod>;
  /** Functions this gateway deployed (and so may call), with the replica count last asked for. */
  private readonly desired = new Map<string, number>();
  private readonly pools = new Map<string, Pool>();
  /** Pod logs being followed, by pod name. */
  private readonly following = new Map<string, AbortController>();
  private closed = false;

  constructor(private readonly opts: KubernetesProviderOptions) {
    const { k8s, kubeConfig, namespace } = opts;
    this.objects = k8s.KubernetesObjectApi.makeApiClient(kubeConfig);
    this.apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
    this.core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.deployments = k8s.makeInformer(kubeConfig, `/apis/apps/v1/namespaces/${namespace}/deployments`, () => this.apps.listNamespacedDeployment({ namespace, labelSelector: SELECTOR }), SELECTOR);
    this.pods = k8s.makeInformer(kubeConfig, `/api/v1/namespaces/${namespace}/pods`, () => this.core.listNamespacedPod({ namespace, labelSelector: SELECTOR }), SELECTOR);
    for (const verb of ['add', 'update'] as const) this.pods.on(verb, (pod) => this.followPod(pod));
    this.pods.on('delete', (pod) => this.unfollowPod(pod.metadata?.name ?? ''));
    for (const informer of [this.deployments, this.pods]) {
      // The informer stops on an error; it is started again after a pause (the API server restarting, a dropped watch).
      informer.on('error', (err) => {
        opts.logger.warn({ err: (err as Error)?.message ?? String(err) }, 'kubernetes watch failed; restarting it');
        if (!this.closed) setTimeout(() => void informer.start().catch(() => {}), 2000).unref();
      });
    }
  }

  /** Starts the watches; resolves once both have listed what exists. */
  async ready(): Promise<void> {
    await Promise.all([this.deployments.start(), this.pods.start()]);
  }

  async deploy(spec: ProviderFunctionSpec): Promise<void> {
    // The Secret first: the Deployment's pods mount it.
    for (const obj of [functionSecret(spec, this.opts), functionService(spec, this.opts), functionDeployment(spec, this.opts)]) {
      await this.objects.patch(obj as K8s.KubernetesObject, undefined, undefined, FIELD_MANAGER, true, this.opts.k8s.PatchStrategy.ServerSideApply);
    }
    this.desired.set(spec.name, spec.replicas);
  }

  async remove(name: string): Promise<void> {
    this.desired.delete(name);
    this.pools.get(name)?.close().catch(() => {});
    this.pools.delete(name);
    const ns = this.opts.namespace;
    const gone = (p: Promise<unknown>) => p.catch((err) => (statusCode(err) === 404 ? undefined : Promise.reject(err)));
    await gone(this.apps.deleteNamespacedDeployment({ name, namespace: ns, propagationPolicy: 'Foreground' }));
    await gone(this.core.deleteNamespacedService({ name, namespace: ns }));
    await gone(this.core.deleteNamespacedSecret({ name: secretName(name), namespace: ns }));
    this.opts.logs.drop(name);
  }

  scale(name: string, replicas: number): boolean {
    if (!this.desired.has(name)) return false;
    this.desired.set(name, replicas);
    const body = { spec: { replicas } };
    this.objects
      .patch({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: this.opts.namespace }, ...body }, undefined, undefined, FIELD_MANAGER, undefined, this.opts.k8s.PatchStrategy.MergePatch)
      .catch((err) => this.opts.logger.error({ err: (err as Error).message, function: name, replicas }, 'scaling the deployment failed'));
    return true;
  }

  status(name: string): ReplicaStatus | null {
    if (!this.desired.has(name)) return null;
    const d = this.deployments.get(name, this.opts.namespace);
    const seen = d ? deploymentStatus(d) : { replicas: 0, availableReplicas: 0 };
    // What was asked for, before the watch has seen the change.
    return { replicas: this.desired.get(name) ?? seen.replicas, availableReplicas: seen.availableReplicas };
  }

  /** Proxies one call to the function's Service (kube-proxy spreads calls over its ready pods). */
  async dispatch(call: ProviderCall, sink: AnswerSink): Promise<void> {
    if (!this.desired.has(call.name)) throw new NotFoundError(`function "${call.name}" is not deployed`);
    if (this.desired.get(call.name) === 0) this.scale(call.name, 1); // a call wakes a function at zero
    await this.waitReady(call.name, call.readyWaitMs);
    if (call.gone?.()) return;
    const pool = this.pool(call.name);
    try {
      await pool.stream(
        {
          path: call.path,
          method: call.method as Dispatcher.HttpMethod,
          headers: call.headers as Record<string, string | string[]>,
          body: call.method === 'GET' || call.method === 'HEAD' ? null : call.body,
          headersTimeout: call.timeoutMs,
          bodyTimeout: call.timeoutMs,
          signal: call.signal,
        },
        ({ statusCode, headers }) => sink(statusCode, headers),
      );
    } catch (err) {
      if (err instanceof SpindleError) throw err;
      if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
        throw new TimeoutError(`function ${call.name} did not answer within its timeout of ${call.timeoutMs} ms`);
      }
      if (err instanceof undiciErrors.RequestAbortedError || (err as Error)?.name === 'AbortError') throw err;
      throw new BadGatewayError(`function ${call.name} failed while handling the request: ${(err as Error).message}`, err);
    }
  }

  /** Replicas report progress over IPC on this machine only; pods cannot, so there is none here. */
  onProgress(_fn: (event: ProgressEvent) => void): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.deployments.stop(), this.pods.stop()]).catch(() => {});
    for (const c of this.following.values()) c.abort();
    this.following.clear();
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => {})));
    this.pools.clear();
  }

  private async waitReady(name: string, waitMs: number): Promise<void> {
    const deadline = Date.now() + waitMs;
    while ((this.status(name)?.availableReplicas ?? 0) === 0) {
      if (Date.now() >= deadline) throw new UnavailableError(`function ${name} has no ready pod after waiting ${waitMs} ms; see \`kubectl -n ${this.opts.namespace} describe deployment ${name}\``);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private pool(name: string): Pool {
    let pool = this.pools.get(name);
    if (!pool) {
      const url = this.opts.serviceUrl?.(name) ?? `http://${name}.${this.opts.namespace}.svc:${FUNCTION_PORT}`;
      pool = new Pool(url, { connections: 64, keepAliveTimeout: 30_000 });
      this.pools.set(name, pool);
    }
    return pool;
  }

  /** Follows a running pod's log into the log hub (`spindle logs NAME`), once per pod. */
  private followPod(pod: K8s.V1Pod): void {
    const podName = pod.metadata?.name;
    const fn = pod.metadata?.labels?.[FUNCTION_LABEL];
    if (!podName || !fn || this.closed || this.following.has(podName) || pod.status?.phase !== 'Running') return;
    const abort = new AbortController();
    this.following.set(podName, abort);
    let rest = '';
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        const lines = (rest + chunk.toString('utf8')).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) if (line) this.opts.logs.push(fn, podName, line);
        done();
      },
    });
    new this.opts.k8s.Log(this.opts.kubeConfig)
      .log(this.opts.namespace, podName, 'function', sink, { follow: true, tailLines: 100 })
      .then((controller) => {
        if (abort.signal.aborted) controller.abort();
        else abort.signal.addEventListener('abort', () => controller.abort(), { once: true });
      })
      .catch((err) => {
        this.following.delete(podName);
        this.opts.logger.warn({ err: (err as Error).message, pod: podName }, 'following the pod log failed');
      });
  }

  private unfollowPod(podName: string): void {
    this.following.get(podName)?.abort();
    this.following.delete(podName);
  }
}
