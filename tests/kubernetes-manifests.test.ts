/**
 * infra/kubernetes, validated offline: `kubectl kustomize` renders the base and the production overlay (client
 * side, no cluster), and every object is checked against Kubernetes' OpenAPI schemas (kubernetes-models' generated
 * validators), then held to what the deployment promises: GPUs, replicas, RBAC for the provider, policies.
 */
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import { configFromEnv } from '@spindle/gateway';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ROOT, run } from './harness.ts';

const hasKubectl = (await run('sh', ['-c', 'command -v kubectl'])).code === 0;
if (!hasKubectl) console.warn('tests/kubernetes-manifests.test.ts: kubectl not installed (it renders the kustomize overlays offline): skipped');

// Rendered manifests are checked against the schemas below, not typed here (tests may use `any`).
type Obj = any;

async function render(dir: string): Promise<Obj[]> {
  const out = await run('kubectl', ['kustomize', dir], { cwd: ROOT });
  if (out.code !== 0) throw new Error(`kubectl kustomize ${dir}: ${out.stderr}`);
  return YAML.parseAllDocuments(out.stdout).map((d) => d.toJS());
}

/** Validates one object with the kubernetes-models class of its apiVersion and kind; throws the schema's complaint. */
async function validateObject(obj: Obj): Promise<void> {
  const mod = await import(`kubernetes-models/${obj.apiVersion}`);
  const Model = mod[obj.kind];
  if (!Model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
  // The schemas allow unknown fields (a typo like `replica:` passes); the official client's serializer knows every
  // field of every type and drops the rest, so what a round trip loses is a field Kubernetes does not have.
  const type = `${obj.apiVersion.split('/').at(-1).replace(/^v/, 'V')}${obj.kind}`;
  const lost = missing(obj, ObjectSerializer.serialize(ObjectSerializer.deserialize(obj, type), type));
  if (lost.length) throw new Error(`unknown fields: ${lost.join(', ')}`);
}

/** Paths present in `a` and absent from `b`. */
function missing(a: Obj, b: Obj, path = ''): string[] {
  if (a === null || typeof a !== 'object') return [];
  if (b === null || typeof b !== 'object') return [path || '.'];
  return Object.keys(a).flatMap((k) => (k in b ? missing(a[k], b[k], `${path}.${k}`) : [`${path}.${k}`]));
}

const find = (objs: Obj[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);

describe.skipIf(!hasKubectl)('Kubernetes manifests', () => {
  let base: Obj[];
  let prod: Obj[];
  beforeAll(async () => {
    [base, prod] = await Promise.all([render('infra/kubernetes/base'), render('infra/kubernetes/overlays/production')]);
  }, 60_000);

  it('every rendered object of the base and the overlay matches its Kubernetes schema', async () => {
    expect(prod.length).toBeGreaterThan(12);
    for (const obj of [...base, ...prod]) await expect(validateObject(obj), `${obj.kind}/${obj.metadata?.name}`).resolves.toBeUndefined();
  });

  it('a malformed object fails the schema (so the check above can fail)', async () => {
    const gateway = structuredClone(find(prod, 'Deployment', 'gateway'));
    gateway.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    await expect(validateObject(gateway)).rejects.toThrow(/containerPort/);
    const typo = structuredClone(find(prod, 'Deployment', 'gateway'));
    typo.spec.replica = 3;
    await expect(validateObject(typo)).rejects.toThrow('unknown fields: .spec.replica');
  });

  it('runs N stateless gateways and one GPU runner per GPU', () => {
    const gateway = find(prod, 'Deployment', 'gateway');
    expect(gateway.spec.replicas).toBe(3);
    expect(gateway.spec.template.spec.containers[0].image).toBe('registry.example.com/spindle/gateway:0.1.0');
    const runner = find(prod, 'Deployment', 'gpu-runner');
    expect(runner.spec.replicas).toBe(2);
    expect(runner.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
    for (const d of prod.filter((o) => o.kind === 'Deployment')) {
      expect(d.spec.template.spec.securityContext.runAsNonRoot, d.metadata.name).toBe(true);
      for (const c of d.spec.template.spec.containers) expect(c.image, c.name).not.toMatch(/:latest$|^[^:]+$/);
    }
    const pdb = find(prod, 'PodDisruptionBudget', 'gateway');
    expect(pdb.spec.selector.matchLabels).toEqual(gateway.spec.selector.matchLabels);
  });

  it('grants the provider exactly what it calls, in the functions namespace only', () => {
    const role = find(prod, 'Role', 'spindle-provider');
    expect(role.metadata.namespace).toBe('spindle-fn');
    const can = (group: string, resource: string, verb: string) => role.rules.some((r: Obj) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    for (const verb of ['list', 'watch', 'create', 'patch', 'delete']) expect(can('apps', 'deployments', verb), `deployments ${verb}`).toBe(true);
    for (const res of ['services', 'secrets']) for (const verb of ['create', 'patch', 'delete']) expect(can('', res, verb), `${res} ${verb}`).toBe(true);
    expect(can('', 'pods', 'watch')).toBe(true);
    expect(can('', 'pods/log', 'get')).toBe(true);
    expect(prod.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toBe(false);
    const binding = find(prod, 'RoleBinding', 'spindle-provider');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'gateway', namespace: 'spindle' }]);
    const policy = find(prod, 'NetworkPolicy', 'functions-from-gateway');
    expect(policy.metadata.namespace).toBe('spindle-fn');
  });

  it("the gateway's ConfigMap is a configuration the gateway accepts: the Kubernetes provider, with the overlay's runtime image", () => {
    const data: Record<string, string> = find(prod, 'ConfigMap', 'spindle-config').data;
    const plain = Object.fromEntries(Object.entries(data).filter(([k]) => !k.endsWith('_FILE')));
    const config = configFromEnv(plain);
    expect(config.provider).toBe('kubernetes');
    expect(config.kubernetes).toMatchObject({ namespace: 'spindle-fn', runtimeImage: 'registry.example.com/spindle/runtime:0.1.0' });
    for (const [k, v] of Object.entries(data)) if (k.endsWith('_FILE')) expect(v, k).toMatch(/^\/run\/secrets\/spindle\//);
  });
});
