// Shared Jest settings for every project. Jest runs in native ESM mode
// (NODE_OPTIONS=--experimental-vm-modules, set by the test target default in nx.json) because
// @kubernetes/client-node, @google-cloud/storage and @azure/storage-blob ship as ES modules.
// TypeScript is transformed by SWC into ES modules; node_modules are loaded natively, untransformed.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Resolve workspace libraries to their TypeScript sources (the "@kuik/source" export condition).
  testEnvironmentOptions: { customExportConditions: ['@kuik/source', 'node', 'node-addons'] },
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  // Sources import siblings as './x.js' (nodenext style); map them back to the .ts file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2023', keepClassNames: true },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
  },
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // Tests that start servers clean up after themselves; a leaked handle is a bug. Locally Jest
  // waits (and says so), which shows the leak; in CI it exits once the results are in, so that a
  // leak never turns into a CI run that hangs until its time limit.
  forceExit: process.env.CI === 'true',
  detectOpenHandles: false,
  testTimeout: 60_000,
  reporters: ['default', require.resolve('./tools/jest/summary-reporter.cjs')],
};
