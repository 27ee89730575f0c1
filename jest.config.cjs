// Three depths of tests (docs/testing in README):
//   unit         *.spec.ts beside the code: pure logic, no I/O
//   integration  *.integration-spec.ts: real Kafka and real Postgres, provisioned once by globalSetup
//   e2e          e2e/**/*.e2e-spec.ts: the five services as separate processes
const { swcOptions, paths } = require('./tools/scripts/swc-options.cjs');

const moduleNameMapper = Object.fromEntries(
  Object.entries(paths).map(([alias, [target]]) => [`^${alias.replace(/[/\\^$+?.()|[\]{}-]/g, '\\$&')}$`, `<rootDir>/${target}`]),
);
// SWC rewrites the path aliases itself (globalSetup is not resolved through moduleNameMapper).
const transform = { '^.+\\.ts$': ['@swc/jest', swcOptions()] };
const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper,
  transform,
  setupFiles: ['reflect-metadata'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.kizuna/'],
};
const infra = {
  globalSetup: '<rootDir>/tools/testing/global-setup.ts',
  globalTeardown: '<rootDir>/tools/testing/global-teardown.ts',
  // test-namespace: each test file its own Kafka topics and database (tools/testing/namespace.ts)
  setupFiles: ['reflect-metadata', '<rootDir>/tools/testing/test-namespace.ts'],
  setupFilesAfterEnv: ['<rootDir>/tools/testing/setup-infra-tests.ts'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,tools}/**/*.spec.ts'] },
    { ...common, ...infra, displayName: 'integration', testMatch: ['<rootDir>/{apps,libs,tools}/**/*.integration-spec.ts'] },
    { ...common, ...infra, displayName: 'e2e', testMatch: ['<rootDir>/e2e/**/*.e2e-spec.ts'] },
  ],
};
