/**
 * Static checks of the developer loop: skaffold.yaml, the Tiltfile, kind-config.yaml and every
 * Dockerfile. None of them can run here (no Docker engine), so this proves what can be proved without
 * one: every path, chart, Dockerfile, stage and chart value they reference exists, each Dockerfile
 * builds only from files in the repository (its build context is the repository root) and runs as a
 * non-root user, and the image names agree with the operator chart's default image.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { parse } from 'yaml';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OPERATOR_DOCKERFILE = 'operators/tenant-operator/Dockerfile';

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

/** Instructions of a Dockerfile: comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
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
  return instructions;
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
 * Problems of a Dockerfile whose build context is the repository root; empty when it is fine. `exists`
 * and `ignored` are parameters so the checker itself can be tested on a broken Dockerfile.
 */
function dockerfileProblems(
  text: string,
  exists: (path: string) => boolean = existsInRepo,
  ignored: (path: string) => boolean = IGNORED,
): string[] {
  const problems: string[] = [];
  const instructions = parseDockerfile(text);
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

test('the repository has Dockerfiles, the operator one among them', () => {
  expect(DOCKERFILES).toContain(OPERATOR_DOCKERFILE);
});

test.each(DOCKERFILES)('%s: multi-stage, non-root, builds only from files in the repository', (path) => {
  expect(dockerfileProblems(read(path))).toEqual([]);
});

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
});

// ---------------------------------------------------------------------------------------------------
// The operator image, against the chart and the workspace

const operatorValues = readYaml('charts/tenant-operator/values.yaml');
/** The operator chart's default image, without tag: <global.image.registry>/<image.repository>. */
const OPERATOR_IMAGE = [
  lookup(operatorValues, 'global.image.registry'),
  lookup(operatorValues, 'image.repository'),
]
  .filter(Boolean)
  .join('/');

test('the operator chart defaults to the ghcr.io/tenantry/tenant-operator image', () => {
  expect(OPERATOR_IMAGE).toBe('ghcr.io/tenantry/tenant-operator');
});

test('the operator Dockerfile agrees with the chart, the package and the workspace', () => {
  const instructions = parseDockerfile(read(OPERATOR_DOCKERFILE));
  const stages = stagesOf(instructions);
  const final = stages.at(-1);
  const args = (keyword: string) =>
    instructions.filter((i) => i.keyword === keyword).map((i) => i.args.trim());

  // The user is the chart's runAsUser, so the files the image owns and the pod's user agree.
  const uid = lookup(operatorValues, 'securityContext.runAsUser');
  expect(final?.instructions.find((i) => i.keyword === 'USER')?.args.trim()).toBe(`${uid}:${uid}`);
  // The ports are the chart's metrics and probe ports.
  const ports = args('EXPOSE').flatMap((arg) => arg.split(/\s+/));
  expect(ports).toEqual(
    expect.arrayContaining(
      [lookup(operatorValues, 'ports.metrics'), lookup(operatorValues, 'ports.probes')].map(String),
    ),
  );
  // The entrypoint is the package's start script, run from the package directory.
  const pkg = JSON.parse(read('operators/tenant-operator/package.json')) as { scripts: { start: string } };
  expect((JSON.parse(args('ENTRYPOINT').at(-1) ?? '[]') as string[]).join(' ')).toBe(pkg.scripts.start);
  expect(args('WORKDIR').at(-1)).toBe('/app/operators/tenant-operator');
  // pnpm is the root packageManager's; tsx (not installed by `--prod`) is the catalog's.
  const root = JSON.parse(read('package.json')) as { packageManager: string };
  const catalog = lookup(readYaml('pnpm-workspace.yaml'), 'catalog') as Values;
  expect(args('ARG')).toEqual(
    expect.arrayContaining([
      `PNPM_VERSION=${root.packageManager.replace(/^pnpm@/, '')}`,
      `TSX_VERSION=${catalog.tsx}`,
    ]),
  );
});

// ---------------------------------------------------------------------------------------------------
// skaffold.yaml

interface SkaffoldArtifact {
  image: string;
  context?: string;
  docker?: { dockerfile?: string; target?: string };
  dependencies?: { paths?: string[] };
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
    for (const path of artifact.dependencies?.paths ?? []) {
      const fixed = path.replace(/\/\*\*$/, '');
      expect(existsInRepo(join(context, fixed)), `dependency path ${path}`).toBe(true);
    }
  }
  expect(skaffold.build.artifacts.map((artifact) => artifact.image)).toContain(OPERATOR_IMAGE);
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

test('Tiltfile: the image build uses an existing context, Dockerfile and stage, under the chart image name', () => {
  const builds = [...tiltCode.matchAll(/docker_build\(\s*([^,]+),\s*([^,]+),/g)];
  expect(builds.length).toBeGreaterThan(0);
  const images = builds.map(([, image]) => tiltString(image ?? ''));
  expect(images).toContain(OPERATOR_IMAGE);
  for (const [, , context] of builds) {
    const path = tiltString(context ?? '');
    expect(path !== undefined && existsInRepo(path), `docker_build context ${context}`).toBe(true);
  }
  const dockerfiles = [...tiltCode.matchAll(/dockerfile\s*=\s*([^,)\n]+)/g)].map(([, arg]) =>
    tiltString(arg ?? ''),
  );
  expect(dockerfiles).toContain(OPERATOR_DOCKERFILE);
  for (const dockerfile of dockerfiles)
    expect(dockerfile && existsInRepo(dockerfile), dockerfile).toBeTruthy();
  for (const [, target] of tiltCode.matchAll(/target\s*=\s*'([^']+)'/g)) {
    expect(stageNames(OPERATOR_DOCKERFILE)).toContain(target);
  }
});

test('Tiltfile: every synced, watched and fall-back path exists, and syncs land in the image layout', () => {
  const syncs = [...tiltCode.matchAll(/sync\(\s*([^,]+),\s*([^)]+)\)/g)];
  expect(syncs.length).toBeGreaterThan(0);
  for (const [, local, remote] of syncs) {
    const from = tiltString(local ?? '');
    expect(from !== undefined && existsInRepo(from), `sync source ${local}`).toBe(true);
    // The image keeps the repository layout under /app (see the Dockerfile).
    expect(tiltString(remote ?? ''), `sync of ${from}`).toBe(`/app/${from}`);
  }
  const fallBack = /fall_back_on\(\s*\[([^\]]*)\]/.exec(tiltCode)?.[1] ?? '';
  const only = /only\s*=\s*\[([^\]]*)\]/.exec(tiltCode)?.[1] ?? '';
  const watched = [...tiltCode.matchAll(/watch_file\(\s*('[^']*')\s*\)/g)].map(([, path]) => path ?? '');
  for (const literal of [...fallBack.split(','), ...only.split(','), ...watched]
    .map((s) => s.trim())
    .filter(Boolean)) {
    const path = tiltString(literal);
    expect(path !== undefined && existsInRepo(path), `path ${literal}`).toBe(true);
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
