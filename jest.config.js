/** @type {import('jest').Config} */
const transform = {
  // Transpile only (tsconfig's isolatedModules makes ts-jest use transpileModule): `npm run typecheck` runs tsc once for the whole tree.
  '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
};

/** What both tiers share. */
const project = { testEnvironment: 'node', transform };

module.exports = {
  testTimeout: 60_000,
  // Two cores: one worker per core keeps moto and the child processes of fault tests responsive.
  maxWorkers: 2,
  projects: [
    {
      ...project,
      // No server of any kind: the code, the file system, and CDK synthesis in the test process.
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      ...project,
      // Real servers: moto_server (started once by the global setup), Chromium, the service over HTTP,
      // child processes, cfn-lint and the CDK CLI.
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
