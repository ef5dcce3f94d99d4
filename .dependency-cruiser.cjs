/**
 * The workspace's import boundaries, checked by `npm test` (and `npm run check`) with
 * dependency-cruiser. Packages are the folders under packages/, services/, operators/, bench/ and
 * scripts/local-platform/; they reach each other by package name (`@tenantry/<name>`), never by path.
 */
/** `$1` is the package's folder. */
const PACKAGE = '^((?:packages|services|operators|scripts)/[^/]+|bench)/';
/** Test code: test files, test helpers, harnesses exported as `<package>/testing`, the chart tests. */
const TEST_CODE =
  '(\\.test\\.ts$|[/-]test-(support|helpers)\\.ts$|/testing(/|\\.ts$)|/test-fixtures/|^packages/charts-tests/)';

module.exports = {
  forbidden: [
    {
      name: 'no-relative-import-across-packages',
      comment:
        'A relative import reaches into another package: import it by its package name (@tenantry/<name>), ' +
        'through an entry its package.json exports (e.g. @tenantry/tenant-operator/testing).',
      severity: 'error',
      from: { path: PACKAGE },
      to: { dependencyTypes: ['local'], pathNot: '^$1/' },
    },
    {
      name: 'libraries-never-import-programs',
      comment:
        'A library (packages/*) imports a program (a service, the operator, a script or a benchmark): ' +
        'move what both need into a package.',
      severity: 'error',
      from: { path: '^packages/', pathNot: TEST_CODE },
      to: { path: '^(services|operators|scripts|bench)/' },
    },
    {
      name: 'services-never-import-services',
      comment: 'A service imports another service: share code through packages/*, events or HTTP.',
      severity: 'error',
      from: { path: '^services/([^/]+)/' },
      to: { path: '^services/', pathNot: '^services/$1/' },
    },
    {
      name: 'no-undeclared-imports',
      comment: 'An import that does not resolve: a package not declared in package.json, or a typo.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'programs-never-import-test-code',
      comment: 'Production code imports a test harness.',
      severity: 'error',
      from: { path: '^(packages|services|operators)/', pathNot: TEST_CODE },
      to: { path: TEST_CODE },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|^\\.devstack/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Workspace packages are symlinks in node_modules: resolve them to their folders, so a rule sees
    // which package an import lands in.
    preserveSymlinks: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
