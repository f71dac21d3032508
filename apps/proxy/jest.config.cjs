/** @type {import('jest').Config} */
module.exports = {
  displayName: 'proxy',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  globalSetup: '<rootDir>/test/global-setup.mjs',
  // The integration tests stream hundreds of MiB through real servers.
  testTimeout: 180_000,
};
