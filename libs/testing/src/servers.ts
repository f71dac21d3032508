// Endpoints of the real test servers, as published by tools/test-servers/<name>.sh start.
// Each started server writes KEY=VALUE lines to $KUIK_TEST_STATE_DIR/<name>.env; tests read them
// here and never hard-code ports. A test whose server is not running fails with the command that
// starts it: nothing is skipped silently.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Servers the tools/test-servers scripts know how to start. */
export type TestServerName =
  | 'minio'
  | 'fake-gcs'
  | 'azurite'
  | 'etcd'
  | 'kube-apiserver'
  | 'containerd'
  | `docker-registry${'' | `-${string}`}`;

export class TestServerMissingError extends Error {
  constructor(name: string, file: string) {
    super(
      `test server "${name}" is not running (no ${file}).\n` +
        `Start it with:  bash tools/test-servers/${scriptFor(name)} start${instanceArg(name)}\n` +
        `or run the whole suite with:  bash tools/test.sh  (it starts every test server).`,
    );
    this.name = 'TestServerMissingError';
  }
}

function scriptFor(name: string): string {
  return name.startsWith('docker-registry') ? 'docker-registry.sh' : `${name}.sh`;
}
function instanceArg(name: string): string {
  return name.startsWith('docker-registry-') ? ` ${name.slice('docker-registry-'.length)}` : '';
}

/** Root of the repository (the directory holding nx.json), found from the working directory up. */
export function repoRoot(start = process.cwd()): string {
  let dir = path.resolve(start);
  for (;;) {
    if (existsSync(path.join(dir, 'nx.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no nx.json above ${start}: run tests from inside the kuik repository`);
    dir = parent;
  }
}

/** Directory where started servers publish their .env files. */
export function stateDir(): string {
  return process.env['KUIK_TEST_STATE_DIR'] ?? path.join(repoRoot(), 'tmp', 'test-servers');
}

/** Parses KEY=VALUE lines (no quoting, '#' comments, blank lines ignored). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`malformed line in test server env file: ${JSON.stringify(raw)}`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** The published settings of a running test server; throws TestServerMissingError when it is not running. */
export function requireServer(name: TestServerName): Record<string, string> {
  const file = path.join(stateDir(), `${name}.env`);
  if (!existsSync(file)) throw new TestServerMissingError(name, file);
  return parseEnvFile(readFileSync(file, 'utf8'));
}

/** One key of a running server's settings; throws naming the key when it is absent. */
export function serverValue(name: TestServerName, key: string): string {
  const env = requireServer(name);
  const v = env[key];
  if (v === undefined) throw new Error(`test server "${name}" published no ${key} (have: ${Object.keys(env).join(', ')})`);
  return v;
}

/**
 * Absolute path of a client tool installed by tools/test-servers/tools.sh (crane, skopeo, umoci,
 * the OCI conformance binary, ...), read from tools.env / kube-tools.env; throws with the install command.
 */
export function requireTool(key: string): string {
  for (const f of ['tools.env', 'kube-tools.env']) {
    const file = path.join(stateDir(), f);
    if (!existsSync(file)) continue;
    const v = parseEnvFile(readFileSync(file, 'utf8'))[key];
    if (v && existsSync(v)) return v;
  }
  throw new Error(
    `tool ${key} is not installed.\nInstall it with:  bash tools/test-servers/tools.sh install  ` +
      `(and bash tools/test-servers/kube-tools.sh install for helm/kubectl)`,
  );
}
