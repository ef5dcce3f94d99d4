import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { type ServiceDeclaration, serviceMigrationsFolder, services } from './registry.ts';

/**
 * The registry against the repository: every built service has what the conventions promise, and
 * nothing exists that the registry does not declare. The images, skaffold.yaml and the Tiltfile are
 * checked against the registry in packages/charts-tests/src/dev-loop.test.ts.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const built = services.filter((service) => service.built);
const names = (list: readonly ServiceDeclaration[]) => list.map((service) => service.name).sort();

describe('the service registry', () => {
  test('names, ports and prefixes are unique', () => {
    expect(new Set(services.map((s) => s.name)).size).toBe(services.length);
    expect(new Set(services.map((s) => s.port)).size).toBe(services.length);
    for (const service of services) expect(service.name).toMatch(/^[a-z][a-z0-9-]{1,30}$/);
  });

  test('every folder under services/ is a registered service, and every built service has one', () => {
    const folders = readdirSync(join(root, 'services'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    expect(names(services)).toEqual(expect.arrayContaining(folders));
    expect(folders).toEqual(expect.arrayContaining(names(built)));
  });

  test.for(built.map((s) => [s.name, s] as const))(
    '%s: package, chart and umbrella entry',
    ([name, service]) => {
      expect(JSON.parse(read(`services/${name}/package.json`)).name).toBe(`@tenantry/${name}`);
      expect(existsSync(join(root, `services/${name}/src/main.ts`)), 'src/main.ts').toBe(true);
      const chart = parse(read(`charts/${name}/Chart.yaml`)) as { name: string };
      expect(chart.name).toBe(name);
      const values = parse(read(`charts/${name}/values.yaml`)) as { ports?: { http?: number } };
      expect(values.ports?.http, `charts/${name}/values.yaml ports.http`).toBe(service.port);
      const umbrella = parse(read('charts/tenantry/Chart.yaml')) as {
        dependencies: { name: string; condition?: string; repository: string }[];
      };
      expect(umbrella.dependencies).toContainEqual(
        expect.objectContaining({ name, condition: `${name}.enabled`, repository: `file://../${name}` }),
      );
    },
  );

  test.for(built.map((s) => [s.name, s] as const))(
    '%s: a migration set exactly when it declares tenant tables',
    ([, service]) => {
      const journal = join(serviceMigrationsFolder(service), 'meta', '_journal.json');
      expect(existsSync(journal), journal).toBe(service.tenantDatabase);
    },
  );

  test('a service not built yet is in no umbrella chart that would deploy it half-made', () => {
    const umbrella = parse(read('charts/tenantry/Chart.yaml')) as { dependencies: { name: string }[] };
    const deployed = umbrella.dependencies.map((dependency) => dependency.name);
    for (const service of services.filter((s) => !s.built)) expect(deployed).not.toContain(service.name);
  });
});
