/** @type {import('jest').Config} */
module.exports = {
  displayName: 'config',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
