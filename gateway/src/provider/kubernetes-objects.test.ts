/** The Kubernetes provider's objects, built without a cluster and validated against Kubernetes' own schemas (kubernetes-models). */
import { Deployment } from 'kubernetes-models/apps/v1';
import { Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { deploymentStatus, FUNCTION_LABEL, functionDeployment, functionSecret, functionService, SECRETS_MOUNT, type KubernetesSettings } from './kubernetes-objects.ts';
import type { ProviderFunctionSpec } from './types.ts';

const settings: KubernetesSettings = {
  namespace: 'spindle-fn',
  runtimeImage: 'registry.example/spindle-runtime:0.1.0',
  objectStoreSecret: 'spindle-object-store',
  replicaEnv: { SPINDLE_ARTIFACTS_URL: 'http://gateway.spindle.svc:8080/internal/artifacts', SPINDLE_ARTIFACTS_TOKEN: 'tok-123' },
};
const spec: ProviderFunctionSpec = {
  name: 'shout',
  version: 3,
  bundlePath: '/unused/on/kubernetes.mjs',
  digest: 'ab'.repeat(32),
  env: { GREETING: 'hi' },
  secrets: new Map([['api-key', Buffer.from('s3cr3t')]]),
  minReplicas: 1,
  maxReplicas: 5,
  replicas: 2,
  timeoutMs: 30_000,
  labels: {},
  annotations: {},
};

describe('kubernetes objects of a function', () => {
  it('a Deployment of the runtime image, started from the bundle digest, that Kubernetes would accept', () => {
    const d = functionDeployment(spec, settings);
    new Deployment(d as never).validate();
    expect(d.metadata).toMatchObject({ name: 'shout', namespace: 'spindle-fn' });
    expect(d.spec?.replicas).toBe(2);
    expect(d.spec?.selector.matchLabels).toEqual({ [FUNCTION_LABEL]: 'shout' });
    const c = d.spec!.template.spec!.containers[0];
    expect(c.image).toBe(settings.runtimeImage);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({ SPINDLE_BUNDLE: `sha256:${spec.digest}`, SPINDLE_FUNCTION_NAME: 'shout', SPINDLE_SECRETS_DIR: SECRETS_MOUNT, exec_timeout: '30000ms', PORT: '8080', GREETING: 'hi' });
    // The artifact token is a credential: referenced from the Secret, never written into the Deployment.
    expect(JSON.stringify(d)).not.toContain('tok-123');
    expect(env.SPINDLE_ARTIFACTS_TOKEN).toEqual({ secretKeyRef: { name: 'shout-spindle', key: 'env.SPINDLE_ARTIFACTS_TOKEN' } });
    expect(c.envFrom).toEqual([{ secretRef: { name: 'spindle-object-store' } }]);
    expect(c.readinessProbe?.httpGet?.path).toBe('/_/ready');
    expect(c.livenessProbe?.httpGet?.path).toBe('/_/health');
    expect(c.volumeMounts).toContainEqual({ name: 'secrets', mountPath: SECRETS_MOUNT, readOnly: true });
    expect(d.spec!.template.spec!.securityContext?.runAsNonRoot).toBe(true);
  });

  it('a Secret with each function secret as a file and the token, and a Service on 8080', () => {
    const s = functionSecret(spec, settings);
    new Secret(s as never).validate();
    expect(s.data).toEqual({ 'api-key': Buffer.from('s3cr3t').toString('base64'), 'env.SPINDLE_ARTIFACTS_TOKEN': Buffer.from('tok-123').toString('base64') });
    const volume = functionDeployment(spec, settings).spec!.template.spec!.volumes!.find((v) => v.name === 'secrets');
    expect(volume?.secret).toMatchObject({ secretName: 'shout-spindle', items: [{ key: 'api-key', path: 'api-key' }] });
    const svc = functionService(spec, settings);
    new Service(svc as never).validate();
    expect(svc.spec).toMatchObject({ selector: { [FUNCTION_LABEL]: 'shout' }, ports: [{ port: 8080, targetPort: 'http' }] });
  });

  it('the schemas catch a malformed object (so the checks above can fail)', () => {
    const d = functionDeployment(spec, settings) as any;
    d.spec.replicas = 'two';
    expect(() => new Deployment(d).validate()).toThrow(/replicas/);
  });

  it('replica counts come from the Deployment status', () => {
    expect(deploymentStatus({ spec: { replicas: 3, selector: {}, template: {} }, status: { readyReplicas: 1 } } as never)).toEqual({ replicas: 3, availableReplicas: 1 });
    expect(deploymentStatus({})).toEqual({ replicas: 0, availableReplicas: 0 });
  });
});
