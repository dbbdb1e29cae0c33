// Every deployment file validated offline, with the tools that will read it: docker-compose
// (Debian's v1) for the compose file and each of its profiles, kubectl's kustomize for each
// overlay plus the API schemas of every resource (kubernetes-models; KEDA and
// prometheus-operator for the CRDs), promtool for the Prometheus config, the rules and their
// unit tests, and tsc for the dashboards typed with @grafana/schema.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { frameQueue } from '@framewise/contracts';
import { ROOT, itWith, itWithKustomize, parseAll, run } from './tools.spec-helper';

jest.setTimeout(120_000);

const OVERLAYS = fs.readdirSync(path.join(ROOT, 'k8s/overlays'));
const withCompose = itWith('docker-compose', 'apt-get install docker-compose', process.env);
const withKubectl = itWithKustomize(process.env);
const withPromtool = itWith('promtool', 'apt-get install prometheus', process.env);

// Loose shapes of the parts of Kubernetes resources these checks read.
interface Meta {
  name: string;
  labels?: Record<string, string>;
}
interface Resource {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string> };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
}
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean };
  containers: Container[];
}
interface Workload extends Resource {
  spec: {
    selector?: { matchLabels: Record<string, string> };
    template: { metadata?: Meta; spec: PodSpec };
  };
}

const built = new Map<string, Resource[]>();

/** `kubectl kustomize` of an overlay, parsed (built once per overlay). */
function build(overlay: string): Resource[] {
  let resources = built.get(overlay);
  if (resources === undefined) {
    resources = parseAll(
      run('kubectl', ['kustomize', `k8s/overlays/${overlay}`]),
    ) as unknown as Resource[];
    built.set(overlay, resources);
  }
  return resources;
}

function find(resources: Resource[], kind: string, name: string): Resource | undefined {
  return resources.find((r) => r.kind === kind && r.metadata.name === name);
}

/**
 * Every environment variable some framewise process reads: the keys of the zod config schemas
 * (libs/config fragments, libs/db's databaseConfig, each service's config.ts).
 */
function variablesServicesRead(): Set<string> {
  const files = [
    'libs/config/src/fragments.ts',
    'libs/db/src/config.ts',
    ...fs
      .readdirSync(path.join(ROOT, 'services'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `services/${d.name}/src/config.ts`),
  ].filter((f) => fs.existsSync(path.join(ROOT, f)));
  const names = new Set<string>();
  for (const file of files) {
    for (const match of fs
      .readFileSync(path.join(ROOT, file), 'utf8')
      .matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)) {
      names.add(match[1]!);
    }
  }
  return names;
}

describe('docker-compose.yml', () => {
  const file = path.join(ROOT, 'docker-compose.yml');
  const compose = parseAll(fs.readFileSync(file, 'utf8'))[0] as {
    services: Record<string, { profiles?: string[] }>;
  };
  const profiles = [
    ...new Set(Object.values(compose.services).flatMap((s) => s.profiles ?? [])),
  ].sort();

  withCompose.each([['(no profile)'], ...profiles.map((p) => [p])])(
    'passes `docker-compose config -q` with profile %s',
    (profile) => {
      const args = profile === '(no profile)' ? [] : ['--profile', profile];
      run('docker-compose', ['-f', file, ...args, 'config', '-q']);
    },
  );

  withCompose('sets only environment variables that the services really read', () => {
    const resolved = parseAll(
      run('docker-compose', ['-f', file, ...profiles.flatMap((p) => ['--profile', p]), 'config']),
    )[0] as { services: Record<string, { image?: string; environment?: Record<string, unknown> }> };
    const known = variablesServicesRead();
    const unknown = Object.entries(resolved.services)
      .filter(([, service]) => service.image?.startsWith('framewise/'))
      .flatMap(([name, service]) =>
        Object.keys(service.environment ?? {})
          .filter((variable) => !known.has(variable))
          .map((variable) => `${name}: ${variable}`),
      );
    expect(unknown).toEqual([]);
  });
});

describe.each(OVERLAYS)('k8s/overlays/%s', (overlay) => {
  withKubectl('builds, and every resource matches its API schema (CRDs included)', () => {
    const resources = build(overlay);
    expect(resources.length).toBeGreaterThan(10);
    const problems = JSON.parse(
      run(process.execPath, [path.join(__dirname, 'validate-k8s.mjs')], {
        input: JSON.stringify(resources),
      }),
    ) as { resource: string; error: string }[];
    expect(problems).toEqual([]);
  });

  withKubectl('runs each framewise process with probes, requests, a PDB and no root', () => {
    const resources = build(overlay);
    const deployments = resources.filter((r) => r.kind === 'Deployment') as Workload[];
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([
      'api',
      'extractor',
      'reaper',
      'worker',
    ]);
    const pdbs = resources.filter((r) => r.kind === 'PodDisruptionBudget');
    for (const deployment of deployments) {
      const pod = deployment.spec.template.spec;
      const container = pod.containers[0]!;
      const where = `${overlay} ${deployment.metadata.name}`;
      expect({ where, image: container.image }).toEqual({
        where,
        image: expect.stringMatching(/^framewise\//) as unknown,
      });
      // The probe ports are the ones the process serves its ops endpoints on.
      const portOf = (port: string | number | undefined) =>
        typeof port === 'number'
          ? port
          : container.ports?.find((p) => p.name === port)?.containerPort;
      expect({ where, path: container.readinessProbe?.httpGet?.path }).toEqual({
        where,
        path: '/readyz',
      });
      expect({ where, path: container.livenessProbe?.httpGet?.path }).toEqual({
        where,
        path: '/healthz',
      });
      expect({ where, port: portOf(container.readinessProbe?.httpGet?.port) }).toEqual({
        where,
        port: 9100,
      });
      expect({ where, port: portOf(container.livenessProbe?.httpGet?.port) }).toEqual({
        where,
        port: 9100,
      });
      expect({ where, nonRoot: pod.securityContext?.runAsNonRoot }).toEqual({
        where,
        nonRoot: true,
      });
      expect({ where, security: container.securityContext }).toEqual({
        where,
        security: expect.objectContaining({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        }) as unknown,
      });
      expect({ where, cpu: container.resources?.requests?.cpu }).toEqual({
        where,
        cpu: expect.any(String) as unknown,
      });
      const podLabels = deployment.spec.template.metadata?.labels ?? {};
      const covered = pdbs.some((pdb) => {
        const selector = (pdb.spec as { selector: { matchLabels: Record<string, string> } })
          .selector.matchLabels;
        return Object.entries(selector).every(([k, v]) => podLabels[k] === v);
      });
      expect({ where, pdb: covered }).toEqual({ where, pdb: true });
    }
  });

  withKubectl('sets only environment variables that the services really read', () => {
    const resources = build(overlay);
    const known = variablesServicesRead();
    expect(known.has('REDIS_URL') && known.has('WORKER_MODEL_PATH')).toBe(true);
    const framewise = resources.filter(
      (r) =>
        (r.kind === 'Deployment' || r.kind === 'Job') &&
        (r as Workload).spec.template.spec.containers.some((c) => c.image.startsWith('framewise/')),
    ) as Workload[];
    const set = new Set<string>();
    for (const workload of framewise) {
      for (const container of workload.spec.template.spec.containers) {
        for (const env of container.env ?? []) set.add(env.name);
        for (const source of container.envFrom ?? []) {
          const ref = source.configMapRef ?? source.secretRef;
          const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
          const target = ref ? find(resources, kind, ref.name) : undefined;
          // Prod creates its Secrets out of band (k8s/README.md), so they may be absent here.
          for (const key of Object.keys({ ...target?.data, ...target?.stringData })) set.add(key);
        }
      }
    }
    expect([...set].filter((name) => !known.has(name)).sort()).toEqual([]);
  });

  withKubectl('scales workers on the frame queue’s real pending list', () => {
    const resources = build(overlay);
    const config = find(resources, 'ConfigMap', 'framewise-config');
    const pending = frameQueue({ keyPrefix: config?.data?.REDIS_KEY_PREFIX ?? 'fw:' }).keys.pending;
    const scaled = resources.find((r) => r.kind === 'ScaledObject');
    const hpa = resources.find((r) => r.kind === 'HorizontalPodAutoscaler');
    expect(scaled ?? hpa).toBeDefined();
    if (scaled) {
      const spec = scaled.spec as {
        scaleTargetRef: { name: string };
        triggers: { type: string; metadata: Record<string, string> }[];
      };
      expect(spec.scaleTargetRef.name).toBe('worker');
      expect(spec.triggers[0]?.type).toBe('redis');
      expect(spec.triggers[0]?.metadata.listName).toBe(pending);
      // KEDA runs in its own namespace: the address must name this one.
      const namespace = find(
        resources,
        'Namespace',
        spec.triggers[0]?.metadata.address?.split('.')[1] ?? '',
      );
      expect(namespace).toBeDefined();
    }
    if (hpa) {
      expect((hpa.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name).toBe('worker');
    }
  });
});

describe('Redis configuration', () => {
  it('keeps the job queues durable in compose and in Kubernetes: AOF on, never evict', () => {
    for (const file of ['deploy/redis/redis.conf', 'k8s/base/redis/redis.conf']) {
      const settings = new Map(
        fs
          .readFileSync(path.join(ROOT, file), 'utf8')
          .split('\n')
          .filter((line) => line.trim() !== '' && !line.startsWith('#'))
          .map((line) => {
            const [key, ...value] = line.trim().split(/\s+/);
            return [key, value.join(' ')] as const;
          }),
      );
      expect({ file, appendonly: settings.get('appendonly') }).toEqual({ file, appendonly: 'yes' });
      expect({ file, policy: settings.get('maxmemory-policy') }).toEqual({
        file,
        policy: 'noeviction',
      });
    }
  });
});

describe('Prometheus', () => {
  withPromtool('accepts the compose scrape config', () => {
    run('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml']);
  });

  withPromtool('accepts the alert rules, and the PrometheusRule groups', () => {
    const rules = fs
      .readdirSync(path.join(ROOT, 'deploy/prometheus/rules'))
      .filter((f) => f.endsWith('.yml'))
      .map((f) => `deploy/prometheus/rules/${f}`);
    expect(rules.length).toBeGreaterThan(0);
    expect(run('promtool', ['check', 'rules', ...rules])).toMatch(/SUCCESS/);
    // The operator's resource carries plain rule groups under spec: check them the same way.
    const [resource] = parseAll(
      fs.readFileSync(path.join(ROOT, 'k8s/base/monitoring/prometheusrule.yaml'), 'utf8'),
    ) as unknown as { spec: { groups: unknown[] } }[];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'framewise-rules-'));
    try {
      const file = path.join(dir, 'prometheusrule-groups.yml');
      fs.writeFileSync(file, JSON.stringify({ groups: resource!.spec.groups }));
      expect(run('promtool', ['check', 'rules', file])).toMatch(/SUCCESS/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  withPromtool('alerts fire exactly as their unit tests say (promtool test rules)', () => {
    expect(run('promtool', ['test', 'rules', 'deploy/prometheus/tests/alerts.test.yml'])).toMatch(
      /SUCCESS/,
    );
  });
});

describe('Grafana dashboards', () => {
  // tsc over the deploy package: about 20 s, over a minute on a loaded machine.
  it('type-check against @grafana/schema', () => {
    run(process.execPath, [
      require.resolve('typescript/bin/tsc'),
      '-p',
      'deploy/tsconfig.json',
      '--noEmit',
    ]);
  }, 300_000);
});
