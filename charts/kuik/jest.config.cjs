/** @type {import('jest').Config} */
module.exports = {
  displayName: 'chart',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/test/**/*.test.ts'],
};
