/** @type {import('jest').Config} */
module.exports = {
  displayName: 'oci',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
