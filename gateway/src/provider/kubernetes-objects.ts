/**
 * The Kubernetes objects of one function, built by pure functions (unit-tested without a cluster): a Deployment
 * of the generic runtime image (infra/runtime.Dockerfile) that fetches the function's bundle by digest, a
 * Service in front of it, and a Secret holding the function's secrets (mounted as files, as OpenFaaS does) and
 * the artifact token.
 */
import type { V1Deployment, V1Secret, V1Service } from '@kubernetes/client-node';
import type { ProviderFunctionSpec } from './types.ts';

/** Label every object of a function carries; the provider's watches select on it. */
export const FUNCTION_LABEL = 'spindle.dev/function';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'spindle' } as const;
/** Where the function's secrets are mounted (OpenFaaS's path, so ctx.secret and OpenFaaS code both find them). */
export const SECRETS_MOUNT = '/var/openfaas/secrets';
/** The runtime image's port and OpenFaaS's health and readiness paths, served by the bundle's watchdog. */
export const FUNCTION_PORT = 8080;

/** What the objects need besides the function's own spec; from the gateway's configuration. */
export interface KubernetesSettings {
  namespace: string;
  /** The generic function runtime image, e.g. `ghcr.io/you/spindle-runtime:0.1.0`. */
  runtimeImage: string;
  /** Secret (in `namespace`) with S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET: where replicas fetch bundles. */
  objectStoreSecret: string;
  /** Variables every replica gets (the artifact endpoint and token); values named *TOKEN* go in the Secret. */
  replicaEnv: Record<string, string>;
}

/** The name of the Secret holding a function's secrets and its token. */
export function secretName(name: string): string {
  return `${name}-spindle`;
}

function labels(spec: ProviderFunctionSpec): Record<string, string> {
  return { ...MANAGED_BY, [FUNCTION_LABEL]: spec.name, 'spindle.dev/version': String(spec.version) };
}

/** Whether an env var of the gateway's replicaEnv is a credential (kept out of the Deployment, in the Secret). */
function isCredential(key: string): boolean {
  return /TOKEN|PASSWORD|SECRET|KEY/i.test(key);
}

/** The Secret: one key per function secret (mounted under SECRETS_MOUNT) plus credentials of replicaEnv. */
export function functionSecret(spec: ProviderFunctionSpec, settings: KubernetesSettings): V1Secret {
  const data: Record<string, string> = {};
  for (const [key, value] of spec.secrets) data[key] = value.toString('base64');
  for (const [key, value] of Object.entries(settings.replicaEnv)) if (isCredential(key)) data[`env.${key}`] = Buffer.from(value).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName(spec.name), namespace: settings.namespace, labels: { ...MANAGED_BY, [FUNCTION_LABEL]: spec.name } },
    type: 'Opaque',
    data,
  };
}

/** The Deployment: `replicas` of the runtime image started from the bundle digest, probed on the watchdog's paths. */
export function functionDeployment(spec: ProviderFunctionSpec, settings: KubernetesSettings): V1Deployment {
  const secret = secretName(spec.name);
  const plainEnv = { ...spec.env, ...Object.fromEntries(Object.entries(settings.replicaEnv).filter(([k]) => !isCredential(k))) };
  const env = [
    ...Object.entries(plainEnv).map(([name, value]) => ({ name, value })),
    ...Object.keys(settings.replicaEnv)
      .filter(isCredential)
      .map((name) => ({ name, valueFrom: { secretKeyRef: { name: secret, key: `env.${name}` } } })),
    { name: 'SPINDLE_BUNDLE', value: `sha256:${spec.digest}` },
    { name: 'SPINDLE_FUNCTION_NAME', value: spec.name },
    { name: 'SPINDLE_SECRETS_DIR', value: SECRETS_MOUNT },
    { name: 'exec_timeout', value: `${spec.timeoutMs}ms` },
    { name: 'PORT', value: String(FUNCTION_PORT) },
    { name: 'HOST', value: '0.0.0.0' },
  ];
  const secretItems = [...spec.secrets.keys()].map((key) => ({ key, path: key }));
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: spec.name, namespace: settings.namespace, labels: labels(spec), annotations: { 'spindle.dev/bundle': `sha256:${spec.digest}` } },
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: { [FUNCTION_LABEL]: spec.name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labels(spec), annotations: { 'prometheus.io/scrape': 'false' } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'function',
              image: settings.runtimeImage,
              ports: [{ name: 'http', containerPort: FUNCTION_PORT, protocol: 'TCP' }],
              env,
              envFrom: [{ secretRef: { name: settings.objectStoreSecret } }],
              readinessProbe: { httpGet: { path: '/_/ready', port: 'http' }, periodSeconds: 2, failureThreshold: 2 },
              livenessProbe: { httpGet: { path: '/_/health', port: 'http' }, initialDelaySeconds: 5, periodSeconds: 10 },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'secrets', mountPath: SECRETS_MOUNT, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'secrets', secret: { secretName: secret, items: secretItems, defaultMode: 0o400 } },
            { name: 'tmp', emptyDir: { sizeLimit: '512Mi' } },
          ],
          // Drains like a local replica: the watchdog stops taking work on SIGTERM and finishes what is in flight.
          terminationGracePeriodSeconds: Math.ceil(spec.timeoutMs / 1000) + 5,
        },
      },
    },
  };
}

/** The Service the gateway calls: `http://<name>.<namespace>.svc:8080`. */
export function functionService(spec: ProviderFunctionSpec, settings: KubernetesSettings): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: spec.name, namespace: settings.namespace, labels: { ...MANAGED_BY, [FUNCTION_LABEL]: spec.name } },
    spec: {
      type: 'ClusterIP',
      selector: { [FUNCTION_LABEL]: spec.name },
      ports: [{ name: 'http', port: FUNCTION_PORT, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

/** Replica counts of a Deployment as OpenFaaS reports them. */
export function deploymentStatus(d: V1Deployment): { replicas: number; availableReplicas: number } {
  return { replicas: d.spec?.replicas ?? 0, availableReplicas: d.status?.readyReplicas ?? 0 };
}
