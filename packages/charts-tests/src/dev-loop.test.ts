/**
 * Static checks of the developer loop: skaffold.yaml, the Tiltfile, kind-config.yaml and every
 * Dockerfile. None of them can run here (no Docker engine), so this proves what can be proved without
 * one: every path, chart, Dockerfile, stage and chart value they reference exists, each Dockerfile
 * builds only from files in the repository (its build context is the repository root) and runs as a
 * non-root user, for every build argument it is built with (services/Dockerfile: SERVICE, once per
 * service), each service image copies the workspace packages the service imports, and the image
 * names agree with the charts' default images.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { services } from '@tenantry/service-registry';
import { expect, test } from 'vitest';
import { parse } from 'yaml';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OPERATOR_DOCKERFILE = 'operators/tenant-operator/Dockerfile';
/** The one Dockerfile of the services, built with the build argument SERVICE=<service>. */
const SERVICE_DOCKERFILE = 'services/Dockerfile';
/** The services with a chart and an image: the built ones of the registry. */
const SERVICES = services.filter((service) => service.built).map((service) => service.name);

type Values = Record<string, unknown>;

function read(path: string): string {
  return readFileSync(join(REPO_ROOT, path), 'utf8');
}

function readYaml(path: string): Values {
  return parse(read(path)) as Values;
}

/** Whether `path` (relative to the repository root) exists and stays inside the repository. */
function existsInRepo(path: string): boolean {
  if (isAbsolute(path)) return false;
  const resolved = normalize(join(REPO_ROOT, path));
  return !relative(REPO_ROOT, resolved).startsWith('..') && existsSync(resolved);
}

/** The value at a dotted path (`image.repository`), or undefined when some key is missing. */
function lookup(values: unknown, dotted: string): unknown {
  let current: unknown = values;
  for (const key of dotted.split('.')) {
    if (current === null || typeof current !== 'object' || !(key in current)) return undefined;
    current = (current as Values)[key];
  }
  return current;
}

/** Every file named `name` in the repository, outside node_modules, .git and .devstack. */
function findFiles(name: string, dir = ''): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (['node_modules', '.git', '.devstack'].includes(entry.name)) continue;
      found.push(...findFiles(name, path));
    } else if (entry.name === name) {
      found.push(path);
    }
  }
  return found;
}

interface PackageJson {
  name: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
}

/** Every workspace package by name, with its directory. */
const WORKSPACE = new Map(
  ['packages', 'services', 'operators'].flatMap((group) =>
    readdirSync(join(REPO_ROOT, group), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsInRepo(`${group}/${entry.name}/package.json`))
      .map((entry) => {
        const dir = `${group}/${entry.name}`;
        const pkg = JSON.parse(read(`${dir}/package.json`)) as PackageJson;
        return [pkg.name, { dir, pkg }] as const;
      }),
  ),
);

/**
 * The directories of the workspace packages a package needs at runtime: its `workspace:`
 * dependencies, theirs, and so on (what `pnpm install --prod --filter "<name>..."` installs).
 */
function workspaceClosure(name: string): string[] {
  const found = new Set<string>();
  const visit = (current: string) => {
    for (const [dependency, version] of Object.entries(WORKSPACE.get(current)?.pkg.dependencies ?? {})) {
      if (!version.startsWith('workspace:') || found.has(dependency)) continue;
      found.add(dependency);
      visit(dependency);
    }
  };
  visit(name);
  return [...found].map((dependency) => WORKSPACE.get(dependency)?.dir ?? `unknown ${dependency}`).sort();
}

// ---------------------------------------------------------------------------------------------------
// Dockerfiles

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  name: string | undefined;
  base: string;
  instructions: Instruction[];
}

type BuildArgs = Record<string, string>;

/**
 * Instructions of a Dockerfile: comments dropped, `\` continuations joined, build arguments
 * substituted (see expandArgs) with the values `buildArgs` gives them.
 */
function parseDockerfile(text: string, buildArgs: BuildArgs = {}): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    // Comment lines are dropped, also inside a continued instruction (as Docker does).
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full === '') continue;
    const match = /^(\S+)\s*(.*)$/s.exec(full);
    if (match?.[1])
      instructions.push({ keyword: match[1].toUpperCase(), args: match[2] ?? '', line: startLine });
  }
  return expandArgs(instructions, buildArgs);
}

/**
 * Docker's substitution of build arguments, `$NAME` and `${NAME}`: an ARG before the first FROM is
 * seen by the FROM lines only; one in a stage, by the rest of that stage, with the value of the build
 * argument, else its default, else that of the ARG of the same name before the first FROM. A name no
 * ARG of the scope declares is left as it is (in a COPY source, the check below reports it). ENV
 * values and the `${NAME:-default}` forms are not substituted: the Dockerfiles do not need them.
 */
function expandArgs(instructions: Instruction[], buildArgs: BuildArgs): Instruction[] {
  const globals = new Map<string, string>();
  let scope: Map<string, string> | undefined; // a stage's, from its FROM on
  const substitute = (text: string, values: Map<string, string>) =>
    text.replace(/\$(?:\{(\w+)\}|(\w+))/g, (whole, braced?: string, bare?: string) => {
      return values.get(braced ?? bare ?? '') ?? whole;
    });
  return instructions.map((instruction) => {
    if (instruction.keyword === 'ARG') {
      const [name = '', ...rest] = instruction.args.trim().split('=');
      const fallback = rest.length > 0 ? rest.join('=') : undefined;
      (scope ?? globals).set(name, buildArgs[name] ?? fallback ?? globals.get(name) ?? '');
      return instruction;
    }
    if (instruction.keyword === 'FROM') {
      scope = new Map();
      return { ...instruction, args: substitute(instruction.args, globals) };
    }
    return { ...instruction, args: substitute(instruction.args, scope ?? globals) };
  });
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const asIndex = words.findIndex((word) => word.toLowerCase() === 'as');
      stages.push({
        base: words[0] ?? '',
        name: asIndex >= 0 ? words[asIndex + 1] : undefined,
        instructions: [],
      });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/**
 * The instructions that make the image of the final stage: those of the stages it is built FROM, in
 * turn, then its own.
 */
function imageInstructions(stages: Stage[]): Instruction[] {
  const chain: Stage[] = [];
  let stage = stages.at(-1);
  while (stage && !chain.includes(stage)) {
    chain.unshift(stage);
    const base = stage.base.toLowerCase();
    stage = stages.find((other) => other.name?.toLowerCase() === base);
  }
  return chain.flatMap((link) => link.instructions);
}

/** Flags (`--from=x`) and the remaining words of a COPY/ADD, exec (JSON) form included. */
function copyArgs(args: string): { flags: Map<string, string>; paths: string[] } {
  const flags = new Map<string, string>();
  let rest = args.trim();
  for (
    let flag = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest);
    flag;
    flag = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest)
  ) {
    flags.set(flag[1] ?? '', flag[2] ?? '');
    rest = rest.slice(flag[0].length);
  }
  const paths = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/).filter(Boolean);
  return { flags, paths };
}

/** A matcher for the patterns of a .dockerignore (`*`, `**`, `?`; `!` exceptions). */
function dockerignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = normalize(negate ? line.slice(1) : line).replace(/^\/+|\/+$/g, '');
      const source = pattern
        .split('/')
        .map((part) =>
          part === '**'
            ? '.*'
            : part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      return { negate, regex: new RegExp(`^${source}(?:/.*)?$`) };
    });
  return (path) => {
    let ignored = false;
    for (const rule of rules) if (rule.regex.test(path)) ignored = !rule.negate;
    return ignored;
  };
}

const IGNORED = existsInRepo('.dockerignore') ? dockerignoreMatcher(read('.dockerignore')) : () => false;

/**
 * Problems of a Dockerfile whose build context is the repository root, built with `buildArgs`; empty
 * when it is fine. `exists` and `ignored` are parameters so the checker itself can be tested on a
 * broken Dockerfile.
 */
function dockerfileProblems(
  text: string,
  buildArgs: BuildArgs = {},
  exists: (path: string) => boolean = existsInRepo,
  ignored: (path: string) => boolean = IGNORED,
): string[] {
  const problems: string[] = [];
  const instructions = parseDockerfile(text, buildArgs);
  const stages = stagesOf(instructions);
  if (stages.length < 2) problems.push(`not multi-stage: ${stages.length} FROM`);
  for (const { keyword, args, line } of instructions) {
    if (keyword !== 'COPY' && keyword !== 'ADD') continue;
    const { flags, paths } = copyArgs(args);
    if (flags.has('from')) continue; // a copy from another stage or image, not from the context
    const sources = paths.slice(0, -1);
    if (sources.length === 0) problems.push(`line ${line}: ${keyword} without a source`);
    for (const source of sources) {
      if (keyword === 'ADD' && /^(https?:\/\/|git@|git:\/\/)/.test(source)) {
        problems.push(`line ${line}: ADD of a URL (${source}): build only from files in the repository`);
        continue;
      }
      if (source.includes('$')) {
        problems.push(`line ${line}: ${source} names a build argument its stage does not declare`);
        continue;
      }
      if (/[*?[]/.test(source)) {
        problems.push(`line ${line}: wildcard source ${source}: name the files, so this test can check them`);
        continue;
      }
      const path = normalize(source).replace(/^\.\/?|\/$/g, '') || '.';
      if (!exists(path)) problems.push(`line ${line}: ${keyword} source ${source} is not in the repository`);
      else if (path !== '.' && ignored(path))
        problems.push(`line ${line}: ${source} is excluded by .dockerignore`);
    }
  }
  // The user the final stage runs as: its last USER, else that of the stage it is built FROM.
  const userOf = (stage: Stage | undefined, depth = 0): string | undefined => {
    if (!stage || depth > stages.length) return undefined;
    const user = stage.instructions.filter((instruction) => instruction.keyword === 'USER').at(-1);
    if (user) return user.args.trim();
    return userOf(
      stages.find((other) => other.name === stage.base),
      depth + 1,
    );
  };
  const user = userOf(stages.at(-1));
  const name = user?.split(':')[0];
  if (name === undefined || name === '' || name === 'root' || name === '0') {
    problems.push(`the final stage runs as root (USER ${user ?? 'unset'})`);
  }
  return problems;
}

const DOCKERFILES = findFiles('Dockerfile').sort();

/**
 * Each image: the chart that deploys it, its Dockerfile and build arguments, its package and the
 * chart's port values.
 */
const IMAGES = [
  {
    label: OPERATOR_DOCKERFILE,
    chart: 'tenant-operator',
    dockerfile: OPERATOR_DOCKERFILE,
    buildArgs: {} as BuildArgs,
    dir: 'operators/tenant-operator',
    ports: ['ports.metrics', 'ports.probes'],
  },
  ...SERVICES.map((service) => ({
    label: `${SERVICE_DOCKERFILE} SERVICE=${service}`,
    chart: service,
    dockerfile: SERVICE_DOCKERFILE,
    buildArgs: { SERVICE: service } as BuildArgs,
    dir: `services/${service}`,
    ports: ['ports.http'],
  })),
];

test('the repository has the operator Dockerfile and one Dockerfile for all the services', () => {
  expect(DOCKERFILES).toEqual(expect.arrayContaining([OPERATOR_DOCKERFILE, SERVICE_DOCKERFILE]));
  // services/Dockerfile builds every service: none keeps a Dockerfile of its own.
  expect(DOCKERFILES.filter((path) => /^services\/[^/]+\/Dockerfile$/.test(path))).toEqual([]);
});

/** Every Dockerfile with each set of build arguments it is built with (none for one no image uses). */
const DOCKERFILE_BUILDS = DOCKERFILES.flatMap((path) => {
  const builds = IMAGES.filter((image) => image.dockerfile === path);
  return builds.length > 0
    ? builds.map(({ label, buildArgs }) => ({ label, path, buildArgs }))
    : [{ label: path, path, buildArgs: {} as BuildArgs }];
});

test.each(DOCKERFILE_BUILDS)(
  '$label: multi-stage, non-root, builds only from files in the repository',
  ({ path, buildArgs }) => {
    expect(dockerfileProblems(read(path), buildArgs)).toEqual([]);
  },
);

test('the Dockerfile check fails a broken Dockerfile', () => {
  const broken = [
    'FROM node:20-bookworm-slim',
    'ADD https://example.com/tool.tar.gz /opt/',
    'COPY package.json \\',
    '  does/not/exist ./',
    'COPY node_modules ./node_modules',
    'COPY --from=build /app /app',
  ].join('\n');
  expect(dockerfileProblems(broken)).toEqual([
    'not multi-stage: 1 FROM',
    'line 2: ADD of a URL (https://example.com/tool.tar.gz): build only from files in the repository',
    'line 3: COPY source does/not/exist is not in the repository',
    'line 5: node_modules is excluded by .dockerignore',
    'the final stage runs as root (USER unset)',
  ]);
  expect(dockerfileProblems('FROM a AS b\nUSER 65532\nFROM b\nUSER root\n')).toEqual([
    'the final stage runs as root (USER root)',
  ]);
  // The user is inherited from the stage the final one is built from.
  expect(dockerfileProblems('FROM a AS base\nUSER 65532:65532\nFROM base\nCOPY package.json .\n')).toEqual(
    [],
  );
  // A build argument declared before the first FROM is seen by the FROM lines only; a stage that uses
  // it declares it again, and then gets the value it is built with.
  const copyService = (declared: boolean) =>
    [
      'ARG SERVICE',
      'FROM a AS build',
      ...(declared ? ['ARG SERVICE'] : []),
      'COPY services/$SERVICE/src src',
      'FROM base-$SERVICE',
      'USER 65532:65532',
    ].join('\n');
  expect(dockerfileProblems(copyService(false), { SERVICE: 'gateway' })).toEqual([
    'line 3: services/$SERVICE/src names a build argument its stage does not declare',
  ]);
  expect(dockerfileProblems(copyService(true), { SERVICE: 'gateway' })).toEqual([]);
  expect(dockerfileProblems(copyService(true), { SERVICE: 'nope' })).toEqual([
    'line 4: COPY source services/nope/src is not in the repository',
  ]);
  expect(stagesOf(parseDockerfile(copyService(true), { SERVICE: 'gateway' })).at(-1)?.base).toBe(
    'base-gateway',
  );
});

// ---------------------------------------------------------------------------------------------------
// The images, against the charts and the workspace

/** A chart's default image, without tag: <global.image.registry>/<image.repository>. */
function chartImage(chart: string): string {
  const values = readYaml(`charts/${chart}/values.yaml`);
  return [lookup(values, 'global.image.registry'), lookup(values, 'image.repository')]
    .filter(Boolean)
    .join('/');
}

const OPERATOR_IMAGE = chartImage('tenant-operator');

test.each(IMAGES.map(({ chart }) => chart))(
  'the %s chart defaults to the ghcr.io/tenantry/<chart> image',
  (chart) => {
    expect(chartImage(chart)).toBe(`ghcr.io/tenantry/${chart}`);
  },
);

test.each(IMAGES)(
  '$label agrees with its chart, its package and the workspace',
  ({ chart, dockerfile, buildArgs, dir, ports }) => {
    const values = readYaml(`charts/${chart}/values.yaml`);
    const instructions = parseDockerfile(read(dockerfile), buildArgs);
    const stages = stagesOf(instructions);
    const final = stages.at(-1);
    const args = (keyword: string) =>
      instructions.filter((i) => i.keyword === keyword).map((i) => i.args.trim());
    // The image's settings: those of the final stage and of the stages it is built from.
    const image = (keyword: string) =>
      imageInstructions(stages)
        .filter((i) => i.keyword === keyword)
        .map((i) => i.args.trim());

    // The user is the chart's runAsUser, so the files the image owns and the pod's user agree.
    const uid = lookup(values, 'securityContext.runAsUser');
    expect(final?.instructions.find((i) => i.keyword === 'USER')?.args.trim()).toBe(`${uid}:${uid}`);
    // Tilt builds the `dev` stage, Skaffold the last one.
    expect(stages.map((stage) => stage.name)).toEqual(expect.arrayContaining(['dev', 'runtime']));
    expect(final?.name).toBe('runtime');
    // The ports are the chart's, and no other.
    const exposed = image('EXPOSE').flatMap((arg) => arg.split(/\s+/));
    expect(exposed.sort()).toEqual(ports.map((key) => String(lookup(values, key))).sort());
    // The entrypoint is the package's start script, run from the package directory.
    const pkg = JSON.parse(read(`${dir}/package.json`)) as PackageJson;
    expect((JSON.parse(image('ENTRYPOINT').at(-1) ?? '[]') as string[]).join(' ')).toBe(pkg.scripts?.start);
    expect(image('WORKDIR').at(-1)).toBe(`/app/${dir}`);
    // The production dependencies of this package and of the workspace packages it needs, no more.
    const install = args('RUN').find((run) => run.includes('pnpm install'));
    expect(install).toContain('--frozen-lockfile');
    expect(install).toContain('--prod');
    expect(install).toContain(`--filter "${pkg.name}..."`);
    // pnpm is the root packageManager's; tsx (not installed by `--prod`) is the catalog's.
    const root = JSON.parse(read('package.json')) as { packageManager: string };
    const catalog = lookup(readYaml('pnpm-workspace.yaml'), 'catalog') as Values;
    expect(args('ARG')).toEqual(
      expect.arrayContaining([
        `PNPM_VERSION=${root.packageManager.replace(/^pnpm@/, '')}`,
        `TSX_VERSION=${catalog.tsx}`,
      ]),
    );
  },
);

/** The sources of a Dockerfile's COPY instructions from the build context (not from a stage). */
function copiedFromContext(path: string, buildArgs: BuildArgs = {}): string[] {
  return parseDockerfile(read(path), buildArgs)
    .filter((instruction) => instruction.keyword === 'COPY')
    .map((instruction) => copyArgs(instruction.args))
    .filter(({ flags }) => !flags.has('from'))
    .flatMap(({ paths }) => paths.slice(0, -1))
    .map((source) => normalize(source).replace(/\/$/, ''));
}

/** The workspace packages of every service's dependency closure, once each, sorted. */
const SERVICE_PACKAGES = [
  ...new Set(SERVICES.flatMap((service) => workspaceClosure(`@tenantry/${service}`))),
].sort();

test.each(SERVICES)(
  `${SERVICE_DOCKERFILE} with SERVICE=%s copies the package.json and src/ of the service and of every workspace package it imports`,
  (service) => {
    const dir = `services/${service}`;
    const needed = workspaceClosure(`@tenantry/${service}`);
    expect(needed.length).toBeGreaterThan(0);
    expect(needed.filter((path) => !path.startsWith('packages/'))).toEqual([]);
    const copied = copiedFromContext(SERVICE_DOCKERFILE, { SERVICE: service });
    expect(copied).toEqual(
      expect.arrayContaining([...needed, dir].flatMap((path) => [`${path}/package.json`, `${path}/src`])),
    );
    // Of services/ and operators/, this service only.
    expect(copied.filter((path) => /^(services|operators)\//.test(path)).sort()).toEqual([
      `${dir}/package.json`,
      `${dir}/src`,
    ]);
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml']));
  },
);

test(`${SERVICE_DOCKERFILE} copies no workspace package that no service imports`, () => {
  // One list for every service: the union of their dependency closures. A package a service stops
  // importing leaves the list, one it starts importing joins it (the test above).
  for (const service of SERVICES) {
    const copied = copiedFromContext(SERVICE_DOCKERFILE, { SERVICE: service });
    expect(copied.filter((path) => path.startsWith('packages/')).sort()).toEqual(
      SERVICE_PACKAGES.flatMap((path) => [`${path}/package.json`, `${path}/src`]).sort(),
    );
  }
});

test(`${OPERATOR_DOCKERFILE} copies its workspace packages and every migration set it applies`, () => {
  const dir = 'operators/tenant-operator';
  const copied = copiedFromContext(OPERATOR_DOCKERFILE, {});
  const packages = workspaceClosure('@tenantry/tenant-operator');
  expect(
    copied.filter((path) => path.startsWith('packages/') && !path.endsWith('/migrations')).sort(),
  ).toEqual(packages.flatMap((path) => [`${path}/package.json`, `${path}/src`]).sort());
  const migrated = services.filter((service) => service.built && service.tenantDatabase);
  expect(copied.filter((path) => /^(services|packages)\/[^/]+\/migrations$/.test(path)).sort()).toEqual(
    [
      'packages/events/migrations',
      ...migrated.map((service) => `services/${service.name}/migrations`),
    ].sort(),
  );
  expect(copied).toEqual(expect.arrayContaining([`${dir}/package.json`, `${dir}/src`, `${dir}/migrations`]));
});

// ---------------------------------------------------------------------------------------------------
// skaffold.yaml

interface SkaffoldArtifact {
  image: string;
  context?: string;
  docker?: { dockerfile?: string; target?: string; buildArgs?: Record<string, string> };
}

interface HelmRelease {
  name: string;
  chartPath: string;
  namespace?: string;
  setValueTemplates?: Values;
  setValues?: Values;
}

const skaffold = readYaml('skaffold.yaml') as {
  apiVersion: string;
  build: { artifacts: SkaffoldArtifact[] };
  deploy: { helm: { releases: HelmRelease[] } };
};

/** The stage names of a Dockerfile. */
function stageNames(path: string): string[] {
  return stagesOf(parseDockerfile(read(path))).flatMap((stage) => (stage.name ? [stage.name] : []));
}

/**
 * Whether a value key (`tenant-operator.image.tag`, `global.baseDomain`) set on a chart exists in
 * the values.yaml of that chart or, under a dependency's name, of that local dependency.
 */
function chartHasValue(chartPath: string, key: string): boolean {
  const chart = readYaml(`${chartPath}/Chart.yaml`) as {
    dependencies?: { name: string; repository?: string }[];
  };
  for (const dependency of chart.dependencies ?? []) {
    const local = dependency.repository?.replace(/^file:\/\//, '');
    if (key.startsWith(`${dependency.name}.`) && local && dependency.repository?.startsWith('file://')) {
      return chartHasValue(normalize(join(chartPath, local)), key.slice(dependency.name.length + 1));
    }
  }
  return lookup(readYaml(`${chartPath}/values.yaml`), key) !== undefined;
}

test('skaffold.yaml: every artifact builds from an existing context, Dockerfile and stage', () => {
  expect(skaffold.apiVersion).toBe('skaffold/v4beta11');
  expect(skaffold.build.artifacts.length).toBeGreaterThan(0);
  for (const artifact of skaffold.build.artifacts) {
    const context = artifact.context ?? '.';
    const dockerfile = join(context, artifact.docker?.dockerfile ?? 'Dockerfile');
    expect(existsInRepo(context) && statSync(join(REPO_ROOT, context)).isDirectory(), context).toBe(true);
    expect(existsInRepo(dockerfile), dockerfile).toBe(true);
    if (artifact.docker?.target) expect(stageNames(dockerfile)).toContain(artifact.docker.target);
  }
  expect(skaffold.build.artifacts.map((artifact) => artifact.image).sort()).toEqual(
    IMAGES.map(({ chart }) => chartImage(chart)).sort(),
  );
});

/**
 * The keys of an artifact and of its docker builder in Skaffold's schema (v4beta11), which rejects
 * any other. The artifact has no list of files to watch: Skaffold watches what the Dockerfile copies.
 */
const SKAFFOLD_ARTIFACT_KEYS = [
  'image',
  'context',
  'docker',
  'sync',
  'requires',
  'hooks',
  'platforms',
  'runtimeType',
];
const SKAFFOLD_DOCKER_KEYS = [
  'dockerfile',
  'target',
  'buildArgs',
  'network',
  'addHost',
  'cacheFrom',
  'cliFlags',
  'pullParent',
  'noCache',
  'squash',
  'secrets',
  'ssh',
];

test("skaffold.yaml: artifacts use only keys of Skaffold's schema, and build arguments their Dockerfile declares", () => {
  for (const artifact of skaffold.build.artifacts) {
    for (const key of Object.keys(artifact)) {
      expect(SKAFFOLD_ARTIFACT_KEYS, `${artifact.image}: ${key}`).toContain(key);
    }
    for (const key of Object.keys(artifact.docker ?? {})) {
      expect(SKAFFOLD_DOCKER_KEYS, `${artifact.image}: docker.${key}`).toContain(key);
    }
    const dockerfile = join(artifact.context ?? '.', artifact.docker?.dockerfile ?? 'Dockerfile');
    const declared = parseDockerfile(read(dockerfile))
      .filter((instruction) => instruction.keyword === 'ARG')
      .map((instruction) => instruction.args.trim().split('=')[0]);
    for (const name of Object.keys(artifact.docker?.buildArgs ?? {})) {
      expect(declared, `${artifact.image}: build argument ${name}`).toContain(name);
    }
  }
});

test(`skaffold.yaml: each service is built from ${SERVICE_DOCKERFILE} with SERVICE set to it, under its chart image`, () => {
  const services = skaffold.build.artifacts.filter(
    (artifact) => artifact.docker?.dockerfile === SERVICE_DOCKERFILE,
  );
  expect(services.map((artifact) => artifact.docker?.buildArgs?.SERVICE).sort()).toEqual(
    [...SERVICES].sort(),
  );
  for (const artifact of services) {
    expect(artifact.context ?? '.', artifact.image).toBe('.');
    expect(artifact.image).toBe(chartImage(String(artifact.docker?.buildArgs?.SERVICE)));
  }
});

test("skaffold.yaml: the release deploys every image it builds, through its chart's image values", () => {
  const [release] = skaffold.deploy.helm.releases;
  const templates = release?.setValueTemplates ?? {};
  for (const { chart } of IMAGES) {
    const variable = chartImage(chart).replace(/[^a-zA-Z0-9]/g, '_');
    expect(templates[`${chart}.image.registry`], chart).toBe(`{{.IMAGE_DOMAIN_${variable}}}`);
    expect(templates[`${chart}.image.repository`], chart).toBe(`{{.IMAGE_REPO_NO_DOMAIN_${variable}}}`);
    expect(templates[`${chart}.image.tag`], chart).toBe(`{{.IMAGE_TAG_${variable}}}`);
  }
});

test('skaffold.yaml: every helm release deploys an existing chart and sets only values it has', () => {
  const releases = skaffold.deploy.helm.releases;
  expect(releases.map((release) => release.chartPath)).toContain('charts/tenantry');
  for (const release of releases) {
    expect(existsInRepo(`${release.chartPath}/Chart.yaml`), release.chartPath).toBe(true);
    for (const key of Object.keys({ ...release.setValueTemplates, ...release.setValues })) {
      expect(chartHasValue(release.chartPath, key), `${release.chartPath}: ${key}`).toBe(true);
    }
    // Each template names a built artifact (Skaffold's variable: the image, non-alphanumerics as _).
    for (const template of Object.values(release.setValueTemplates ?? {})) {
      for (const [, image] of String(template).matchAll(
        /\{\{\s*\.IMAGE_[A-Z_]+?_((?:[a-z0-9]+_?)+)\s*\}\}/g,
      )) {
        const built = skaffold.build.artifacts.map((artifact) =>
          artifact.image.replace(/[^a-zA-Z0-9]/g, '_'),
        );
        expect(built, String(template)).toContain(image);
      }
    }
  }
});

// ---------------------------------------------------------------------------------------------------
// Tiltfile

const tiltfile = read('Tiltfile');
/** The Tiltfile without comments (a `#` outside a string starts one; good enough for this file). */
const tiltCode = tiltfile
  .split('\n')
  .map((line) => line.replace(/^\s*#.*$/, '').replace(/\s+#[^'"]*$/, ''))
  .join('\n');
/** Top-level string constants (`NAME = '...'`), which the calls below may use instead of literals. */
const tiltConstants = new Map(
  [...tiltCode.matchAll(/^([A-Z_][A-Z0-9_]*)\s*=\s*'([^']*)'\s*$/gm)].map(([, name, value]) => [name, value]),
);
/** A Starlark argument: a string literal, a constant, or `CONSTANT + 'literal'`. */
function tiltString(expression: string): string | undefined {
  let result = '';
  for (const part of expression.split('+').map((piece) => piece.trim())) {
    const literal = /^'([^']*)'$|^"([^"]*)"$/.exec(part);
    const value = literal ? (literal[1] ?? literal[2]) : tiltConstants.get(part);
    if (value === undefined) return undefined;
    result += value;
  }
  return result;
}

/** The literal calls of a function in the Tiltfile: those whose arguments tiltString can evaluate. */
const literal = (expression: string | undefined) => tiltString(expression ?? '');

/** The Tiltfile's SERVICES table: each service's name and the workspace packages it imports. */
const TILT_SERVICES = new Map(
  [...(/^SERVICES = \{([\s\S]*?)^\}/m.exec(tiltCode)?.[1] ?? '').matchAll(/'([\w-]+)':\s*\[([^\]]*)\]/g)].map(
    ([, name, list]) => [name ?? '', [...(list ?? '').matchAll(/'([^']+)'/g)].map(([, path]) => path ?? '')],
  ),
);

/** The body of a top-level `def name(...)` of the Tiltfile. */
function tiltFunction(name: string): string {
  return new RegExp(`^def ${name}\\(([^)]*)\\):\\n((?:(?:    .*)?\\n)+)`, 'm').exec(tiltCode)?.[2] ?? '';
}

test('Tiltfile: the operator image build uses an existing context, Dockerfile and stage, under the chart image name', () => {
  const builds = [...tiltCode.matchAll(/docker_build\(\s*([^,]+),\s*([^,]+),/g)];
  expect(builds.length).toBeGreaterThan(0);
  const images = builds.map(([, image]) => literal(image));
  expect(images).toContain(OPERATOR_IMAGE);
  for (const [, , context] of builds) {
    const path = literal(context);
    expect(path !== undefined && existsInRepo(path), `docker_build context ${context}`).toBe(true);
  }
  const dockerfiles = [...tiltCode.matchAll(/dockerfile\s*=\s*([^,)\n]+)/g)]
    .map(([, arg]) => literal(arg))
    .filter((path) => path !== undefined);
  expect(dockerfiles).toContain(OPERATOR_DOCKERFILE);
  for (const dockerfile of dockerfiles) expect(existsInRepo(dockerfile), dockerfile).toBe(true);
  // Every image is built at the `dev` stage, which each Dockerfile has.
  const targets = [...tiltCode.matchAll(/target\s*=\s*'([^']+)'/g)].map(([, target]) => target);
  expect(targets.length).toBe(builds.length);
  for (const target of targets) {
    for (const { dockerfile } of IMAGES) expect(stageNames(dockerfile), dockerfile).toContain(target);
  }
});

test(`Tiltfile: every service is built from ${SERVICE_DOCKERFILE} with SERVICE=<service> under its chart image, syncing the packages it imports`, () => {
  expect([...TILT_SERVICES.keys()].sort()).toEqual([...SERVICES].sort());
  expect(tiltConstants.get('SERVICE_DOCKERFILE')).toBe(SERVICE_DOCKERFILE);
  expect(stageNames(SERVICE_DOCKERFILE)).toContain('dev');
  for (const [service, packages] of TILT_SERVICES) {
    // The live-updated packages are those the service imports, so an edit to any of them restarts it.
    expect(packages, service).toEqual(workspaceClosure(`@tenantry/${service}`));
    for (const path of packages) expect(existsInRepo(`${path}/src`), path).toBe(true);
    expect(existsInRepo(`services/${service}/src`), service).toBe(true);
    // The name is a valid SERVICE: the Dockerfile builds it.
    expect(dockerfileProblems(read(SERVICE_DOCKERFILE), { SERVICE: service }), service).toEqual([]);
  }
  // The build context holds every package the Dockerfile copies: the union of the table's lists.
  expect(tiltCode).toContain(
    'IMAGE_PACKAGES = sorted({package: True for packages in SERVICES.values() for package in packages})',
  );
  expect([...new Set([...TILT_SERVICES.values()].flat())].sort()).toEqual(SERVICE_PACKAGES);
  // service_image(name, packages) builds what the table names: check the names it derives.
  const body = tiltFunction('service_image');
  expect(body).toContain("directory = 'services/' + name");
  expect(body).toContain("'ghcr.io/tenantry/' + name,");
  expect(SERVICES.map((service) => `ghcr.io/tenantry/${service}`)).toEqual(SERVICES.map(chartImage));
  expect(body).toContain('dockerfile=SERVICE_DOCKERFILE,');
  expect(body).toContain("build_args={'SERVICE': name},");
  expect(body).toContain("'tsconfig.json', directory] + IMAGE_PACKAGES,");
  expect(body).toContain("sync(directory + '/src', '/app/' + directory + '/src')");
  expect(body).toContain("sync(package + '/src', '/app/' + package + '/src') for package in packages");
  expect(tiltCode).toMatch(
    /^for name, packages in SERVICES\.items\(\):\n {4}service_image\(name, packages\)$/m,
  );
  // The gateway's port forward is the chart's port.
  const gatewayPort = /^GATEWAY_PORT = (\d+)$/m.exec(tiltCode)?.[1];
  expect(gatewayPort).toBe(String(lookup(readYaml('charts/gateway/values.yaml'), 'ports.http')));
});

test('Tiltfile: every synced, watched and fall-back path exists, and syncs land in the image layout', () => {
  const syncs = [...tiltCode.matchAll(/sync\(\s*([^,]+),\s*([^)]+)\)/g)].filter(([, local]) =>
    literal(local),
  );
  expect(syncs.length).toBeGreaterThan(0);
  for (const [, local, remote] of syncs) {
    const from = literal(local);
    expect(from !== undefined && existsInRepo(from), `sync source ${local}`).toBe(true);
    // The image keeps the repository layout under /app (see the Dockerfile).
    expect(literal(remote), `sync of ${from}`).toBe(`/app/${from}`);
  }
  const lists = [
    ...[...tiltCode.matchAll(/fall_back_on\(\s*\[([^\]]*)\]/g)].map(([, list]) => list ?? ''),
    ...[...tiltCode.matchAll(/only\s*=\s*\[([^\]]*)\]/g)].map(([, list]) => list ?? ''),
  ];
  const watched = [...tiltCode.matchAll(/watch_file\(\s*('[^']*')\s*\)/g)].map(([, path]) => path ?? '');
  const literals = [...lists.flatMap((list) => list.split(',')), ...watched]
    .map((item) => item.trim())
    .filter(Boolean)
    .map(literal)
    .filter((path) => path !== undefined);
  expect(literals.length).toBeGreaterThan(10);
  for (const path of literals) expect(existsInRepo(path), `path ${path}`).toBe(true);
  // What service_image derives from a service's name exists for every service.
  for (const service of SERVICES) {
    for (const path of ['package.json', 'src']) {
      expect(existsInRepo(`services/${service}/${path}`), `services/${service}/${path}`).toBe(true);
    }
  }
});

test('Tiltfile: the helm release renders an existing chart and sets only values it has', () => {
  const charts = [...tiltCode.matchAll(/helm\(\s*'([^']+)'/g)].map(([, chart]) => chart ?? '');
  expect(charts).toContain('charts/tenantry');
  for (const chart of charts) expect(existsInRepo(`${chart}/Chart.yaml`), chart).toBe(true);
  const sets = /set\s*=\s*\[([^\]]*)\]/.exec(tiltCode)?.[1] ?? '';
  const keys = [...sets.matchAll(/'([\w.-]+)=/g)].map(([, key]) => key ?? '');
  expect(keys.length).toBeGreaterThan(0);
  for (const key of keys) expect(chartHasValue('charts/tenantry', key), key).toBe(true);
  // Every helm dependency build the Tiltfile runs is of an existing chart.
  for (const [, chart] of tiltCode.matchAll(/helm dependency build ([^\s'"&]+)/g)) {
    expect(existsInRepo(`${chart}/Chart.yaml`), chart).toBe(true);
  }
});

// ---------------------------------------------------------------------------------------------------
// kind-config.yaml

test('kind-config.yaml: a node ready for an ingress controller, with host ports 80 and 443 mapped', () => {
  const config = readYaml('kind-config.yaml') as {
    kind: string;
    nodes: {
      kubeadmConfigPatches?: string[];
      extraPortMappings?: { containerPort: number; hostPort: number }[];
    }[];
  };
  expect(config.kind).toBe('Cluster');
  const ingressNode = config.nodes.find((node) =>
    (node.kubeadmConfigPatches ?? []).some((patch) => {
      const labels = lookup(parse(patch), 'nodeRegistration.kubeletExtraArgs.node-labels');
      return String(labels ?? '')
        .split(',')
        .includes('ingress-ready=true');
    }),
  );
  expect(ingressNode, 'a node labelled ingress-ready=true').toBeDefined();
  const mapped = (ingressNode?.extraPortMappings ?? []).map((m) => `${m.hostPort}:${m.containerPort}`);
  expect(mapped).toEqual(expect.arrayContaining(['80:80', '443:443']));
});
