/** @type {import('jest').Config} */
module.exports = {
  displayName: 'registry',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  // The client suites run the registry bundle as its own process (its RSS is measured).
  globalSetup: '<rootDir>/test/global-setup.mjs',
};
