// Origin credentials from Kubernetes, against the real kube-apiserver of the test servers: a
// basic-auth docker-registry origin, a kubernetes.io/dockerconfigjson Secret, and a Repository
// (the CRD from apps/controller/crds) naming it. The proxy starts without waiting for the API,
// is refused by the origin while no Repository names the Secret, pulls once one does, follows
// a password change of the Secret, and forgets the credentials when the Repository goes. It runs
// as a service account that RBAC allows to read Repositories and that one Secret by name, and
// nothing else: listing the namespace's (or the cluster's) Secrets would be refused.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RegistryClient, StaticCredentials } from '@kuik/oci/client';
import { repoRoot, requireServer } from '@kuik/testing';
import { KubeApi } from '../src/kube/api.js';
import { loadKubeEndpoint } from '../src/kube/kubeconfig.js';
import { REPOSITORIES_PATH } from '../src/kube/pull-secrets.js';
import type { Proxy } from '../src/proxy.js';
import { makeImage, pushImage, smallLayer, uniqueRepo } from './support/images.js';
import { eventually, proxyClient, pull, startTestProxy } from './support/proxy.js';
import { KuikRegistry, startOrigin, tempDir, type OriginRegistry } from './support/servers.js';

const kube = requireServer('kube-apiserver');
const suffix = Date.now().toString(36);
const namespace = `kuik-proxy-creds-${suffix}`;
const repositoryObject = `proxy-creds-${suffix}`;
const secretName = 'origin-pull';

let origin: OriginRegistry;
let registry: KuikRegistry;
let proxy: Proxy;
let client: RegistryClient;
const repo = uniqueRepo('kube-creds');
const image = makeImage([smallLayer({ kube: 'secret' })]);

function kubectl(args: string[], input?: string): string {
  return execFileSync(kube['KUBECTL_BIN']!, ['--kubeconfig', kube['KUBECONFIG']!, ...args], { input, encoding: 'utf8', timeout: 60_000 });
}

function applySecret(password: string): void {
  const auth = Buffer.from(`${origin.username}:${password}`).toString('base64');
  const config = JSON.stringify({ auths: { [origin.host]: { auth } } });
  kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/dockerconfigjson',
    metadata: { name: secretName, namespace },
    data: { '.dockerconfigjson': Buffer.from(config).toString('base64') },
  }));
}

function applyRepository(): void {
  kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'kuik.enix.io/v1alpha1',
    kind: 'Repository',
    metadata: { name: repositoryObject },
    spec: { name: `${origin.host}/${repo}`, pullSecretNames: [secretName], pullSecretsNamespace: namespace },
  }));
}

let saToken = '';

/** A kubeconfig for a service account allowed Repositories (read) and the one Secret, by name. */
function restrictedKubeconfig(): string {
  const sa = 'proxy';
  const rbac = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'pull-secret', namespace },
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [secretName], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'pull-secret', namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pull-secret' },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `${namespace}-repositories` },
      rules: [{ apiGroups: ['kuik.enix.io'], resources: ['repositories'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${namespace}-repositories` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${namespace}-repositories` },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
    },
  ];
  kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }));
  const token = kubectl(['-n', namespace, 'create', 'token', sa, '--duration=1h']).trim();
  saToken = token;
  // The restriction is real: this identity may not list the namespace's Secrets.
  const canList = (() => {
    try {
      return kubectl(['auth', 'can-i', 'list', 'secrets', '-n', namespace, `--as=system:serviceaccount:${namespace}:${sa}`]).trim();
    } catch (err) {
      return String((err as { stdout?: string }).stdout ?? '').trim(); // "no" exits with 1
    }
  })();
  expect(canList).toBe('no');
  const file = path.join(tempDir('kubeconfig'), 'config');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server: kube['KUBE_APISERVER_URL'], 'certificate-authority': kube['KUBE_CA_FILE'] } }],
      users: [{ name: sa, user: { token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: sa } }],
      'current-context': 'test',
    }),
  );
  return file;
}

beforeAll(async () => {
  origin = startOrigin('proxy-kube', ['--htpasswd']);
  const pusher = new RegistryClient({ host: origin.host, scheme: 'http', credentials: new StaticCredentials({ [origin.host]: { username: origin.username!, password: origin.password! } }) });
  await pushImage(pusher, repo, image, 'v1');
  await pusher.close();
  // Created when missing; left as it is when another suite installed it.
  try {
    kubectl(['get', 'crd', 'repositories.kuik.enix.io', '-o', 'name']);
  } catch {
    kubectl(['create', '-f', path.join(repoRoot(), 'apps/controller/crds/repositories.kuik.enix.io.yaml')]);
  }
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/repositories.kuik.enix.io']);
  kubectl(['create', 'namespace', namespace]);
  const kubeconfig = restrictedKubeconfig();
  registry = await new KuikRegistry().start();
  // No cache fill: every pull below must reach the origin, with whatever credentials the proxy holds.
  proxy = await startTestProxy({
    registryUrl: registry.url,
    insecureRegistries: [origin.host],
    config: { cache: { fill: false }, kubernetes: { repositories: true, kubeconfig } },
  });
  client = proxyClient(proxy);
});

afterAll(async () => {
  await proxy?.close(1000);
  await client?.close();
  await registry?.kill();
  try {
    kubectl(['delete', 'repository', repositoryObject, '--ignore-not-found']);
    kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
    kubectl(['delete', 'clusterrole,clusterrolebinding', `${namespace}-repositories`, '--ignore-not-found']);
  } catch {
    // best effort: the names are unique to this run
  }
});

const name = () => `${origin.host.replace(':', '-')}/${repo}`;
const pullStatus = () =>
  pull(client, name(), 'v1').then(
    () => 200,
    (err: { status?: number }) => err.status ?? 0,
  );

describe('credentials from Kubernetes Secrets named by Repository resources', () => {
  it('reads only the Secrets a Repository names, by name, and follows changes', async () => {
    const started = Date.now();
    expect(await pullStatus()).toBe(401); // the proxy answered at once, with no credentials yet (and asks the client for its own)
    expect(Date.now() - started).toBeLessThan(10_000);

    // A Secret alone is not enough: no Repository names it.
    applySecret(origin.password!);
    await eventually(async () => proxy.context.kube?.pullSecrets?.synced, 'the Repository list');
    await new Promise((r) => setTimeout(r, 500));
    expect(await pullStatus()).toBe(401);
    expect(proxy.context.kube?.pullSecrets?.hosts()).toEqual([]);

    applyRepository();
    await eventually(async () => (await pullStatus()) === 200, 'a pull with the Secret of the Repository', 30_000);
    expect(proxy.context.kube?.pullSecrets?.hosts()).toEqual([origin.host]);

    // The Secret changes (a wrong password): the watch picks it up, the origin refuses.
    applySecret('not-the-password');
    await eventually(async () => (await pullStatus()) === 401, 'the changed Secret to be used', 30_000);
    applySecret(origin.password!);
    await eventually(async () => (await pullStatus()) === 200, 'the restored Secret to be used', 30_000);

    // The Repository goes away: its Secret is no longer watched nor used.
    kubectl(['delete', 'repository', repositoryObject]);
    await eventually(async () => (await pullStatus()) === 401, 'credentials to be forgotten', 30_000);
    expect(proxy.context.kube?.pullSecrets?.hosts()).toEqual([]);
  });

  it('authenticates with a kubeconfig client certificate too, and names the kubeconfig that cannot work', async () => {
    const endpoint = loadKubeEndpoint(null, { KUBECONFIG: kube['KUBECONFIG'] });
    expect(endpoint.cert).toBeDefined();
    const api = new KubeApi(endpoint, 'kuik-proxy-test');
    try {
      const list = await api.get<{ items: unknown[] }>(REPOSITORIES_PATH, {}, AbortSignal.timeout(10_000));
      expect(Array.isArray(list.items)).toBe(true);
    } finally {
      api.close();
    }
    expect(() => loadKubeEndpoint('/nonexistent/kubeconfig')).toThrow(/nonexistent/);
  });

  it('authenticates with an exec credential plugin (as aws eks get-token, gke-gcloud-auth-plugin): run once while its token is valid, again when it expires or is refused', async () => {
    const dir = tempDir('exec-plugin');
    const runs = path.join(dir, 'runs');
    const tokens = path.join(dir, 'tokens.json');
    writeFileSync(runs, '');
    // Each run prints the next token of the list with its expiry, and records its KUBERNETES_EXEC_INFO.
    const plugin = path.join(dir, 'plugin.mjs');
    writeFileSync(
      plugin,
      [
        "import { appendFileSync, readFileSync } from 'node:fs';",
        `const runs = ${JSON.stringify(runs)};`,
        'const n = readFileSync(runs, "utf8").split("\\n").filter(Boolean).length;',
        'appendFileSync(runs, (process.env.KUBERNETES_EXEC_INFO ?? "none") + "\\n");',
        `const list = JSON.parse(readFileSync(${JSON.stringify(tokens)}, 'utf8'));`,
        'const t = list[Math.min(n, list.length - 1)];',
        'process.stdout.write(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: t.token, expirationTimestamp: new Date(Date.now() + t.validMs).toISOString() } }));',
      ].join('\n'),
    );
    const kubeconfig = (exec: Record<string, unknown>) => {
      const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}`);
      writeFileSync(file, JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'test', cluster: { server: kube['KUBE_APISERVER_URL'], 'certificate-authority': kube['KUBE_CA_FILE'] } }],
        users: [{ name: 'plugin', user: { exec } }],
        contexts: [{ name: 'test', context: { cluster: 'test', user: 'plugin' } }],
        'current-context': 'test',
      }));
      return file;
    };
    const exec = { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [plugin], interactiveMode: 'Never' };
    const runCount = () => readFileSync(runs, 'utf8').split('\n').filter(Boolean).length;
    const list = (api: KubeApi) => api.get<{ items: unknown[] }>(REPOSITORIES_PATH, {}, AbortSignal.timeout(10_000));

    // A token valid for an hour: one run for several requests; the plugin is told it is not interactive.
    writeFileSync(tokens, JSON.stringify([{ token: saToken, validMs: 3_600_000 }]));
    const api = new KubeApi(loadKubeEndpoint(kubeconfig(exec)), 'kuik-proxy-test');
    try {
      for (let i = 0; i < 3; i++) expect(Array.isArray((await list(api)).items)).toBe(true);
      expect(runCount()).toBe(1);
      expect(JSON.parse(readFileSync(runs, 'utf8').split('\n')[0]!)).toEqual({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } });
    } finally {
      api.close();
    }

    // A token about to expire (30 s left, under the 60 s margin): each request runs the plugin again.
    writeFileSync(runs, '');
    writeFileSync(tokens, JSON.stringify([{ token: saToken, validMs: 30_000 }]));
    const short = new KubeApi(loadKubeEndpoint(kubeconfig(exec)), 'kuik-proxy-test');
    try {
      await list(short);
      await list(short);
      expect(runCount()).toBe(2);
    } finally {
      short.close();
    }

    // A token the API server refuses: 401, and the next request runs the plugin for a new one.
    writeFileSync(runs, '');
    writeFileSync(tokens, JSON.stringify([{ token: 'not-a-valid-token', validMs: 3_600_000 }, { token: saToken, validMs: 3_600_000 }]));
    const refused = new KubeApi(loadKubeEndpoint(kubeconfig(exec)), 'kuik-proxy-test');
    try {
      await expect(list(refused)).rejects.toMatchObject({ status: 401 });
      expect(Array.isArray((await list(refused)).items)).toBe(true);
      expect(runCount()).toBe(2);
    } finally {
      refused.close();
    }

    // A plugin that fails, or a kubeconfig that cannot work: named.
    const failing = new KubeApi(loadKubeEndpoint(kubeconfig({ ...exec, args: ['-e', 'console.error("no credentials: run aws sso login"); process.exit(3)'] })), 'kuik-proxy-test');
    try {
      await expect(list(failing)).rejects.toThrow(/users\["plugin"\]\.exec: .*node.* failed: no credentials: run aws sso login/);
    } finally {
      failing.close();
    }
    expect(() => loadKubeEndpoint(kubeconfig({ ...exec, apiVersion: 'client.authentication.k8s.io/v1alpha1' }))).toThrow(/exec\.apiVersion: must be one of/);
    expect(() => loadKubeEndpoint(kubeconfig({ ...exec, interactiveMode: 'Always' }))).toThrow(/exec\.interactiveMode: Always needs a terminal/);
  });
});
