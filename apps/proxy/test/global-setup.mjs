// Builds the bundles the tests run as child processes: the kuik registry (apps never import
// apps) and the proxy itself (start-up test). Nx's cache makes this instant when nothing changed.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default async function globalSetup() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const t0 = Date.now();
  execFileSync('npx', ['nx', 'run-many', '-p', 'registry', 'proxy', '-t', 'build', '--outputStyle=static'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  process.stderr.write(`[proxy tests] registry and proxy bundles ready in ${Date.now() - t0} ms\n`);
}
