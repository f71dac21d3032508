// What the chart renders must start the apps: for every storage mode, each component's ConfigMap
// and container environment are handed to that app's own bundle with --check-config, which loads
// and validates them exactly as at start-up (unknown keys, types, driver parameters).
//
// The pod's mounts are emulated under a scratch root: every volumeMount path that appears in the
// configuration is moved there, Secret and ConfigMap volumes are filled with their keys (fixture
// content of the right shape: a PEM certificate, a service-account key), and environment values
// taken from Secrets get placeholder strings. Nothing reaches a network: --check-config parses.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { requireTool } from '@kuik/testing';
import { template, type K8sObject } from './helm.js';

const root = path.resolve(import.meta.dirname, '../../..');
const modes = readdirSync(path.join(import.meta.dirname, 'values')).filter((f) => f.endsWith('.yaml'));
const components = ['controller', 'proxy', 'registry'] as const;
type Component = (typeof components)[number];

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: Record<string, { key?: string; fieldPath?: string }> }[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}
interface Volume {
  name: string;
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  configMap?: { name: string; items?: { key: string; path: string }[] };
  projected?: unknown;
}

// Fixture content for files the apps read at start-up, by the key's name: a real self-signed
// certificate and a real RSA key (openssl), so parsers that check PEM contents accept them.
const fixtures = (() => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kuik-fixtures-'));
  const openssl = requireTool('OPENSSL_BIN');
  const key = path.join(dir, 'key.pem');
  const crt = path.join(dir, 'ca.crt');
  const r = spawnSync(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=kuik-test', '-days', '1', '-keyout', key, '-out', crt], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { pem: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
})();

function fixture(key: string): string {
  if (key.endsWith('.json')) {
    return JSON.stringify({
      type: 'service_account',
      project_id: 'kuik-test',
      private_key_id: '0',
      private_key: fixtures.key,
      client_email: 'registry@kuik-test.iam.gserviceaccount.com',
      client_id: '0',
      token_uri: 'http://127.0.0.1:9/token',
    });
  }
  if (/\.(crt|pem)$/.test(key)) return fixtures.pem;
  if (key.endsWith('.key')) return fixtures.key;
  return `placeholder-${key}`;
}

/** Values of the right shape for keys that Secrets hold (the drivers check their format). */
function secretValue(key: string): string {
  if (key === 'accountname') return 'kuiktestaccount';
  if (key === 'accountkey') return Buffer.from('kuik-test-account-key').toString('base64');
  return `placeholder-${key}`;
}

function workloadOf(objs: K8sObject[], c: Component): K8sObject {
  const w = objs.find((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind) && o.metadata.name.endsWith(`-${c}`));
  if (!w) throw new Error(`no workload for ${c}`);
  return w;
}

/** Runs the component's bundle with --check-config in an emulation of its pod. */
function checkConfig(objs: K8sObject[], c: Component): { status: number | null; output: string } {
  const w = workloadOf(objs, c);
  const pod = w.spec.template.spec as { containers: Container[]; volumes?: Volume[] };
  const container = pod.containers.find((x) => x.name === c) ?? pod.containers[0]!;
  const fsRoot = mkdtempSync(path.join(tmpdir(), `kuik-pod-${c}-`));
  const moved = (p: string) => path.join(fsRoot, p);
  const cms = new Map(objs.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]));

  const mounts = container.volumeMounts ?? [];
  // One pass, longest mount first, whole path segments only: /tmp must not match /tmpfs.
  const mountRe = new RegExp(
    `(${[...mounts].sort((a, b) => b.mountPath.length - a.mountPath.length).map((m) => m.mountPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?=/|$|[\\s"',])`,
    'g',
  );
  const relocate = (s: string) => (mounts.length ? s.replace(mountRe, (p) => moved(p)) : s);
  for (const m of mounts) {
    const vol = pod.volumes?.find((v) => v.name === m.name);
    const target = moved(m.mountPath);
    if (m.subPath) {
      mkdirSync(path.dirname(target), { recursive: true });
      const data = vol?.configMap ? cms.get(vol.configMap.name)?.[m.subPath] : undefined;
      writeFileSync(target, data !== undefined ? relocate(data) : fixture(m.subPath));
      continue;
    }
    mkdirSync(target, { recursive: true });
    if (vol?.configMap) {
      const data = cms.get(vol.configMap.name) ?? {};
      for (const [k, v] of Object.entries(data)) writeFileSync(path.join(target, k), relocate(v));
    } else if (vol?.secret) {
      const items = vol.secret.items ?? [];
      // Without items, the keys are unknown to the chart: the app names them in its config.
      for (const it of items) writeFileSync(path.join(target, it.path), fixture(it.path));
    }
  }
  // Secret volumes without items: create every file the relocated config names under them.
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: fsRoot, NODE_OPTIONS: '' };
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = relocate(e.value);
    else if (e.valueFrom?.['fieldRef']) env[e.name] = e.valueFrom['fieldRef'].fieldPath === 'metadata.namespace' ? 'kuik-system' : `placeholder-${e.name.toLowerCase()}`;
    else env[e.name] = secretValue(e.valueFrom?.['secretKeyRef']?.key ?? e.name.toLowerCase());
  }
  const args = (container.args ?? []).map(relocate);
  for (const m of mounts) {
    const vol = pod.volumes?.find((v) => v.name === m.name);
    if (!vol?.secret || vol.secret.items) continue;
    // Files the configuration expects in this Secret volume.
    const dir = moved(m.mountPath);
    for (const f of referencedFiles(fsRoot, dir)) if (!existsSync(f)) writeFileSync(f, fixture(path.basename(f)));
  }
  const bundle = path.join(root, 'dist/apps', c, 'main.js');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npx nx build ${c}`);
  const r = spawnSync(process.execPath, [bundle, ...args, '--check-config'], { env, encoding: 'utf8', timeout: 30_000, cwd: fsRoot });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Paths under dir that the relocated ConfigMaps of the pod mention. */
function referencedFiles(fsRoot: string, dir: string): string[] {
  const found = new Set<string>();
  const stack = [fsRoot];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) {
        const text = readFileSync(p, 'utf8');
        for (const m of text.matchAll(/(\/[^\s"',]+)/g)) {
          const candidate = path.join(fsRoot, m[1]!);
          if (candidate.startsWith(dir + path.sep)) found.add(candidate);
        }
      }
    }
  }
  return [...found];
}

describe('the apps accept what the chart renders', () => {
  for (const mode of modes) {
    describe(mode.replace(/\.yaml$/, ''), () => {
      const objs = template(mode);
      for (const c of components) {
        it(`${c} starts with its rendered configuration (--check-config)`, () => {
          const r = checkConfig(objs, c);
          if (r.status !== 0) throw new Error(`${c} refused the configuration of ${mode} (exit ${r.status}):\n${r.output}`);
          expect(r.output).toContain('configuration is valid');
        });
      }
    });
  }

  it('the controller and the proxy accept an Azure managed identity by client id (the AKS kubelet identity)', () => {
    const objs = template({ azure: { enabled: true, registries: ['acr.internal.example'], identity: 'managed', managedIdentityClientId: 'a1b2c3d4-0000-4000-8000-00000000000a' } });
    for (const c of ['controller', 'proxy'] as const) {
      const r = checkConfig(objs, c);
      if (r.status !== 0) throw new Error(`${c} refused the Azure managed identity configuration (exit ${r.status}):\n${r.output}`);
      expect(r.output).toContain('configuration is valid');
    }
  });

  it('a driver parameter typo that helm passes through stops the registry, naming the key', () => {
    const objs = template(['s3.yaml', { registry: { persistence: { s3: { regionendpiont: 'http://minio:9000' } } } }]);
    const r = checkConfig(objs, 'registry');
    expect(r.status).toBe(2);
    expect(r.output).toContain('storage.s3.regionendpiont');
  });
});
