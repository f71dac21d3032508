import baseConfig from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  {
    files: ['**/*.json'],
    rules: {
      // scripts/ holds build-time tools (the CRD generator runs esbuild); they are not part of the bundle.
      '@nx/dependency-checks': [
        'error',
        {
          ignoredFiles: [
            '{projectRoot}/eslint.config.{js,cjs,mjs}',
            '{projectRoot}/jest.config.cjs',
            '{projectRoot}/test/**/*',
            '{projectRoot}/scripts/**/*',
          ],
        },
      ],
    },
  },
];
