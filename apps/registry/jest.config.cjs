/** @type {import('jest').Config} */
module.exports = {
  displayName: 'registry',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
