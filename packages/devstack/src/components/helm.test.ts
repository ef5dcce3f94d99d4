import { join } from 'node:path';
import { expect } from 'vitest';
import { repoRoot } from '../config.ts';
import { runCommand } from '../processes.ts';
import { devstack, test } from '../testing/index.ts';

const chart = join(repoRoot, 'packages', 'devstack', 'test-fixtures', 'smoke-chart');

function kubectl(args: string[], input?: string) {
  const { kube, bin } = devstack();
  return runCommand(bin.kubectl, ['--kubeconfig', kube.kubeconfig, ...args], { input });
}

test('helm template of a chart is validated by the API server with a server-side dry run', async ({
  namespace,
}) => {
  const { helm } = devstack().bin;
  const rendered = await runCommand(helm, ['template', 'smoke', chart, '--namespace', namespace]);
  expect(rendered).toContain('kind: Deployment');

  const applied = await kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', '-'], rendered);
  expect(applied).toMatch(/configmap\/smoke-config created \(server dry run\)/);
  expect(applied).toMatch(/deployment.apps\/smoke created \(server dry run\)/);
  // A dry run persists nothing.
  await expect(kubectl(['get', 'deployment/smoke', '-n', namespace])).rejects.toThrow(/NotFound/);

  // And the validation is real: an invalid value is refused by the server, not by helm.
  const invalid = await runCommand(helm, [
    'template',
    'smoke',
    chart,
    '--namespace',
    namespace,
    '--set',
    'replicas=-1',
  ]);
  await expect(kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', '-'], invalid)).rejects.toThrow(
    /spec.replicas: Invalid value: -1/,
  );
});
