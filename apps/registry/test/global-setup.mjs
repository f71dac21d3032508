// Builds the registry bundle that the client suites run as a child process (its memory is
// measured apart from Jest's). Nx's cache makes this instant when nothing changed.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default async function globalSetup() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const t0 = Date.now();
  execFileSync('npx', ['nx', 'build', 'registry', '--outputStyle=static'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  process.stderr.write(`[registry tests] registry bundle ready in ${Date.now() - t0} ms\n`);
}
