// Writes apps/controller/crds/*.yaml from src/crds/definitions.ts (run: npx nx run controller:generate-crds).
// The TypeScript source is bundled on the fly with esbuild (already a workspace tool) so this
// script needs no TypeScript loader.
import { build } from 'esbuild';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(appDir, '../..');
const outFile = path.join(root, 'tmp', 'generate-crds', 'render.mjs');
await build({
  entryPoints: [path.join(appDir, 'src/crds/render.ts')],
  outfile: outFile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  // npm packages (yaml) load from node_modules; definitions.ts imports nothing else.
  packages: 'external',
  logLevel: 'warning',
});
const { renderCrdFiles } = await import(pathToFileURL(outFile).href);
const crdDir = path.join(appDir, 'crds');
await mkdir(crdDir, { recursive: true });
const files = renderCrdFiles();
for (const old of await readdir(crdDir)) {
  if (old.endsWith('.yaml') && !files.some((f) => f.file === old)) await rm(path.join(crdDir, old));
}
for (const f of files) {
  await writeFile(path.join(crdDir, f.file), f.content);
  console.log(`wrote ${path.relative(root, path.join(crdDir, f.file))}`);
}
