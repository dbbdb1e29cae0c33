// Validates Kubernetes resources against the JSON schemas of kubernetes-models (the API's
// OpenAPI schemas) and, for CRDs, @kubernetes-models/keda and prometheus-operator.
// Input: a JSON array of resources on stdin (what `kubectl kustomize` printed, parsed).
// Output: a JSON array of { resource, error } on stdout, empty when every resource is valid.
// A separate ES module because kubernetes-models ships only ESM, which jest's CommonJS
// sandbox cannot load; deploy/src/validate.int.spec.ts runs it with node.

import { Buffer } from 'node:buffer';

/** Where the model classes of an apiVersion live. */
function modelModule(apiVersion) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === '') return `kubernetes-models/${version}`;
  if (group === 'keda.sh') return `@kubernetes-models/keda/keda.sh/${version}`;
  if (group === 'monitoring.coreos.com') {
    return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}`;
  }
  return `kubernetes-models/${group}/${version}`;
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const resources = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const problems = [];
  for (const resource of resources) {
    const name = `${resource.apiVersion} ${resource.kind} ${resource.metadata?.name ?? '?'}`;
    let models;
    try {
      models = await import(modelModule(resource.apiVersion));
    } catch {
      problems.push({ resource: name, error: `no schema for apiVersion ${resource.apiVersion}` });
      continue;
    }
    const Model = models[resource.kind];
    if (typeof Model !== 'function') {
      problems.push({ resource: name, error: `no schema for kind ${resource.kind}` });
      continue;
    }
    try {
      new Model(resource).validate();
    } catch (error) {
      problems.push({ resource: name, error: String(error?.message ?? error) });
    }
  }
  process.stdout.write(JSON.stringify(problems));
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exitCode = 2;
});
