/** @type {import('jest').Config} */
const transform = {
  // Transpile only (tsconfig's isolatedModules makes ts-jest use transpileModule): `npm run typecheck` runs tsc once for the whole tree.
  '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
};

module.exports = {
  testEnvironment: 'node',
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  transform,
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 60_000,
  // Two cores: one worker per core keeps moto and the child processes of fault tests responsive.
  maxWorkers: 2,
};
