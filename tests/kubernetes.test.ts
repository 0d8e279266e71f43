/**
 * The Kubernetes provider against a real cluster: deploy a function as a Deployment of the runtime image, wait
 * for its pods, scale it, call it, read its logs, remove it. Runs only where a cluster is reachable:
 *
 *   KUBECONFIG                   a kubeconfig whose user may do what infra/kubernetes/base/rbac.yaml grants
 *   SPINDLE_TEST_RUNTIME_IMAGE   the image built from infra/runtime.Dockerfile, pullable by the cluster
 *   SPINDLE_TEST_S3_ENDPOINT     S3 reachable from this machine AND from the pods (with _ACCESS_KEY, _SECRET_KEY)
 *   SPINDLE_TEST_K8S_NAMESPACE   an existing namespace (default spindle-fn-test)
 *
 * Calls reach the function through `kubectl port-forward` to its Service. Elsewhere it is skipped, saying why.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { KubernetesProvider, LogHub } from '@spindle/gateway';
import { Client } from 'minio';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { bundle, uniqueName } from './harness.ts';

const env = process.env;
const missing = ['KUBECONFIG', 'SPINDLE_TEST_RUNTIME_IMAGE', 'SPINDLE_TEST_S3_ENDPOINT'].filter((k) => !env[k]);
if (missing.length) console.warn(`tests/kubernetes.test.ts: skipped: no Kubernetes cluster to test against (${missing.join(', ')} not set; see the comment at the top of the file)`);

describe.skipIf(missing.length > 0)('Kubernetes provider on a real cluster', () => {
  const namespace = env.SPINDLE_TEST_K8S_NAMESPACE || 'spindle-fn-test';
  const name = uniqueName('k8s').replace('_', '-');
  const forwards: ChildProcess[] = [];
  let provider: KubernetesProvider | undefined;

  afterAll(async () => {
    for (const f of forwards) f.kill('SIGTERM');
    await provider?.remove(name).catch(() => {});
    await provider?.close();
  });

  it('deploys, scales, invokes, logs and removes a function', async () => {
    const kubeConfig = new k8s.KubeConfig();
    kubeConfig.loadFromDefault();
    const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    const s3 = new URL(env.SPINDLE_TEST_S3_ENDPOINT!);
    const accessKey = env.SPINDLE_TEST_S3_ACCESS_KEY ?? '';
    const secretKey = env.SPINDLE_TEST_S3_SECRET_KEY ?? '';
    const bucket = 'spindle-k8s-test';
    // The bundle, where the runtime image fetches it.
    const b = await bundle('version');
    const minio = new Client({ endPoint: s3.hostname, port: Number(s3.port || (s3.protocol === 'https:' ? 443 : 80)), useSSL: s3.protocol === 'https:', accessKey, secretKey });
    if (!(await minio.bucketExists(bucket))) await minio.makeBucket(bucket);
    await minio.putObject(bucket, `bundles/sha256/${b.digest}`, b.bytes, b.bytes.length);
    const storeSecret = `${name}-store`;
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: storeSecret }, stringData: { S3_ENDPOINT: env.SPINDLE_TEST_S3_ENDPOINT!, S3_ACCESS_KEY: accessKey, S3_SECRET_KEY: secretKey, S3_BUCKET: bucket } },
    });
    let forwarded = '';
    const logs = new LogHub();
    provider = new KubernetesProvider({
      namespace,
      runtimeImage: env.SPINDLE_TEST_RUNTIME_IMAGE!,
      objectStoreSecret: storeSecret,
      replicaEnv: { SPINDLE_ARTIFACTS_TOKEN: 'test-token' },
      k8s,
      kubeConfig,
      logs,
      logger: pino({ level: 'warn' }),
      serviceUrl: () => forwarded,
    });
    try {
      await provider.ready();
      await provider.deploy({ name, version: 1, bundlePath: '', digest: b.digest, env: { VERSION: 'k8s-1' }, secrets: new Map(), minReplicas: 1, maxReplicas: 3, replicas: 1, timeoutMs: 30_000, labels: {}, annotations: {} });
      await waitFor(() => provider!.status(name)?.availableReplicas === 1, 180_000, 'the first pod to be ready');
      expect(provider.scale(name, 2)).toBe(true);
      await waitFor(() => provider!.status(name)?.availableReplicas === 2, 180_000, 'two ready pods');

      forwarded = await portForward(namespace, name, forwards);
      const body = new PassThrough();
      let status = 0;
      await provider.dispatch(
        { name, callId: 'k8s-1', method: 'POST', path: '/', headers: {}, body: Buffer.from('{}'), maxBodyBytes: 1 << 20, timeoutMs: 30_000, readyWaitMs: 10_000 },
        (s) => {
          status = s;
          return body;
        },
      );
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      expect(status).toBe(200);
      expect(JSON.parse(Buffer.concat(chunks).toString())).toMatchObject({ version: 'k8s-1' });
      await waitFor(() => logs.history(name).length > 0, 30_000, 'a log line from a pod');
    } finally {
      await provider.remove(name);
      await core.deleteNamespacedSecret({ name: storeSecret, namespace }).catch(() => {});
    }
    const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
    await waitFor(async () => (await apps.listNamespacedDeployment({ namespace, labelSelector: `spindle.dev/function=${name}` })).items.length === 0, 60_000, 'the Deployment to be gone');
  }, 600_000);
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** `kubectl port-forward svc/NAME :8080`; resolves with the local URL. */
function portForward(namespace: string, name: string, children: ChildProcess[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['port-forward', '-n', namespace, `svc/${name}`, ':8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`kubectl port-forward exited with ${code}: ${out}`)));
  });
}
