/** @type {import('jest').Config} */
module.exports = {
  displayName: 'controller',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
