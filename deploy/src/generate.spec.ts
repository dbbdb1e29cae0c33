import { promises as fs } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { REPO_ROOT, generatedFiles, ruleGroups } from './generate';

describe('generated deployment files', () => {
  it('are committed exactly as the generators write them (run `npm run deploy:generate`)', async () => {
    const files = await generatedFiles();
    expect(files.size).toBeGreaterThanOrEqual(2);
    for (const [file, content] of files) {
      const committed = await fs.readFile(path.join(REPO_ROOT, file), 'utf8').catch(() => '');
      expect({ file, content: committed }).toEqual({ file, content });
    }
  });

  it('give Kubernetes the same alert rules as the compose Prometheus', async () => {
    const rule = YAML.parse(
      await fs.readFile(path.join(REPO_ROOT, 'k8s/base/monitoring/prometheusrule.yaml'), 'utf8'),
    ) as { kind: string; spec: { groups: unknown[] } };
    expect(rule.kind).toBe('PrometheusRule');
    const groups = await ruleGroups();
    expect(groups.length).toBeGreaterThan(0);
    expect(rule.spec.groups).toEqual(groups);
  });
});
