/** @type {import('jest').Config} */
module.exports = {
  displayName: 'leader-election',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
