/**
 * docker-compose.yml, checked without a Docker engine: Debian's docker-compose 1.29 validates it (`config`),
 * and the rendered file is held to the deployment's promises: pinned images, healthchecks and service_healthy
 * ordering, the GPU reservation, secrets only as files, and Prometheus targets that name real services.
 */
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ROOT, run } from './harness.ts';

const hasCompose = (await run('sh', ['-c', 'command -v docker-compose'])).code === 0;
if (!hasCompose) console.warn('tests/compose.test.ts: docker-compose not installed (apt-get install docker-compose; .ci/run does): skipped');
const PROFILES = ['--profile', 'ollama', '--profile', 'exporters', '--profile', 'tls'];

interface Service {
  image?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string | null>;
  deploy?: { resources?: { reservations?: { devices?: Array<{ driver: string; capabilities: string[] }> } } };
  volumes?: Array<{ type: string; source: string; target: string }>;
  profiles?: string[];
  ports?: Array<{ target: number; published: string | number }>;
}

describe.skipIf(!hasCompose)('docker-compose.yml', () => {
  let services: Record<string, Service>;

  beforeAll(async () => {
    const rendered = await run('docker-compose', [...PROFILES, 'config'], { cwd: ROOT });
    expect(rendered.code, rendered.stderr).toBe(0);
    services = YAML.parse(rendered.stdout).services;
  }, 60_000);

  it('is valid for docker-compose, and a broken copy is not (so this check can fail)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spindle-compose-'));
    const text = await readFile(join(ROOT, 'docker-compose.yml'), 'utf8');
    await cp(join(ROOT, 'infra'), join(dir, 'infra'), { recursive: true });
    await writeFile(join(dir, 'docker-compose.yml'), text.replace('condition: service_healthy', 'condition: service_happy'));
    const broken = await run('docker-compose', ['config', '-q'], { cwd: dir });
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toMatch(/service_happy/);
  });

  it('runs the stack the design names, optional parts behind profiles', () => {
    for (const name of ['redis', 'nats', 'postgres', 'minio', 'prometheus', 'grafana', 'gateway', 'gpu-runner']) {
      expect(services[name], name).toBeDefined();
      expect(services[name].profiles, name).toBeUndefined();
    }
    expect(services.ollama.profiles).toEqual(['ollama']);
    for (const name of ['redis-exporter', 'dcgm-exporter', 'cadvisor']) expect(services[name].profiles, name).toEqual(['exporters']);
    expect(services.traefik.profiles).toEqual(['tls']);
  });

  it('pins every image, gives every core service a healthcheck, and starts each after what it needs is healthy', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, name).toMatch(/^[\w./-]+(?::[\w.-]+)$/);
      expect(s.image, name).not.toMatch(/:latest$/);
      if (!s.profiles) expect(s.healthcheck?.test?.length, `${name} has no healthcheck`).toBeGreaterThan(0);
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(condition, `${name} → ${dep}`).toBe('service_healthy');
        expect(services[dep].healthcheck, `${dep} (needed by ${name}) has no healthcheck`).toBeDefined();
      }
    }
    expect(Object.keys(services.gateway.depends_on ?? {}).sort()).toEqual(['minio', 'nats', 'postgres', 'redis']);
  });

  it('reserves the NVIDIA GPU for the runner, which shares the gateway data volume (bundles and models)', () => {
    expect(services['gpu-runner'].deploy?.resources?.reservations?.devices).toEqual([{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }]);
    // docker-compose 1.29 renders a volume as `source:target[:mode]`; the Compose spec as an object.
    const data = (s: Service) => s.volumes?.map((v) => (typeof v === 'string' ? { source: (v as string).split(':')[0], target: (v as string).split(':')[1] } : v)).find((v) => v.target === '/data')?.source;
    expect(data(services['gpu-runner'])).toBe('spindle-data');
    expect(data(services.gateway)).toBe('spindle-data');
  });

  it('passes credentials only as secret files, never as values in the file', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (!/PASSWORD|SECRET|TOKEN|_KEY$|DATABASE_URL/.test(key) || key === 'S3_ACCESS_KEY') continue;
        expect(`${name}: ${key}`).toMatch(/_FILE$|__FILE$/);
        expect(value, `${name}: ${key}`).toMatch(/^\/run\/secrets\//);
      }
    }
  });

  it('has Prometheus scrape the services that exist, on the ports they listen on', async () => {
    const prom = YAML.parse(await readFile(join(ROOT, 'infra/prometheus/prometheus.yml'), 'utf8'));
    const ports: Record<string, string> = { gateway: '8080', 'gpu-runner': services['gpu-runner'].environment?.SPINDLE_GPU_METRICS_PORT ?? '', 'redis-exporter': '9121', 'dcgm-exporter': '9400', cadvisor: '8080' };
    for (const job of prom.scrape_configs) {
      for (const target of job.static_configs.flatMap((c: { targets: string[] }) => c.targets)) {
        const [host, port] = target.split(':');
        expect(services[host], `${job.job_name}: ${target}`).toBeDefined();
        expect(port, `${job.job_name}: ${target}`).toBe(ports[host]);
      }
    }
  });
});
