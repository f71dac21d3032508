// Bundles one app into a single ES module file, dist/apps/<app>/main.js, runnable with plain
// `node` (plus one file per worker-thread entry, src/*-worker.ts). Workspace libraries are taken from their TypeScript sources (the "@kuik/source"
// export condition); every npm dependency is bundled, so the container image needs no node_modules.
import { build } from 'esbuild';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
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

// main.js, and each src/*-worker.ts as a bundle of its own beside it (a worker thread that needs
// a small part of the app loads only that part).
const workers = (await readdir(path.join(appDir, 'src'))).filter((f) => f.endsWith('-worker.ts'));
const entryPoints = Object.fromEntries([['main', path.join(appDir, 'src', 'main.ts')], ...workers.map((f) => [f.replace(/\.ts$/, ''), path.join(appDir, 'src', f)])]);

await mkdir(outDir, { recursive: true });
const result = await build({
  entryPoints,
  outdir: outDir,
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
console.log(`bundled ${pkg.name}@${pkg.version} -> ${path.relative(root, outDir)}/${Object.keys(entryPoints).map((e) => `${e}.js`).join(', ')} (${(bytes / 1e6).toFixed(1)} MB with maps)`);
