// Bundles one app into a single ES module file, dist/apps/<app>/main.js, runnable with plain
// `node`. Workspace libraries are taken from their TypeScript sources (the "@kuik/source"
// export condition); every npm dependency is bundled, so the container image needs no node_modules.
import { build } from 'esbuild';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const app = process.argv[2];
if (!app) {
  console.error('usage: node tools/build/bundle-app.mjs <app>');
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const appDir = path.join(root, 'apps', app);
const outDir = path.join(root, 'dist', 'apps', app);
const pkg = JSON.parse(await readFile(path.join(appDir, 'package.json'), 'utf8'));

await mkdir(outDir, { recursive: true });
const result = await build({
  entryPoints: [path.join(appDir, 'src', 'main.ts')],
  outfile: path.join(outDir, 'main.js'),
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  conditions: ['@kuik/source'],
  sourcemap: 'linked',
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
  define: { 'process.env.KUIK_BUILD_VERSION': JSON.stringify(pkg.version) },
  // Bundled CommonJS dependencies call require() for Node built-ins; give ESM output one.
  banner: {
    js: "import { createRequire as __kuikCreateRequire } from 'node:module'; const require = __kuikCreateRequire(import.meta.url);",
  },
});
// The bundle is ESM; say so next to it so `node main.js` never guesses.
await writeFile(
  path.join(outDir, 'package.json'),
  JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', main: 'main.js' }, null, 2) + '\n',
);
await writeFile(path.join(outDir, 'meta.json'), JSON.stringify(result.metafile));
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`bundled ${pkg.name}@${pkg.version} -> ${path.relative(root, outDir)}/main.js (${(bytes / 1e6).toFixed(1)} MB with maps)`);
