// The admission webhook called by the real kube-apiserver: a MutatingWebhookConfiguration with
// clientConfig.url https://127.0.0.1:<port>/mutate and a caBundle, pods created through the API
// come back rewritten, and every skip rule is honoured.
// KUIK_RECORD_FIXTURES=1 also writes each AdmissionReview the API server sent into
// test/fixtures/<scenario>.review.json (the inputs of src/webhook/mutate.spec.ts).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LABEL_PROXY_READY } from '../src/crds/types.js';
import type { Pod } from '../src/kube/types.js';
import { mutatePod, type AdmissionReview } from '../src/webhook/mutate.js';
import { WebhookServer } from '../src/webhook/server.js';
import { createCa, createServingCert } from '../src/webhook/tls/certs.js';
import { IGNORED_NAMESPACE, NAMESPACE_A, NAMESPACE_B, POLICIES, type PolicyName } from './fixtures/policies.js';
import { applyWebhookConfiguration, deleteWebhookConfiguration, kube, pod, silentLogger, suffix, waitFor } from './harness.js';

const RECORD = process.env['KUIK_RECORD_FIXTURES'] === '1';
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const DIGEST = 'sha256:' + 'c'.repeat(64);
const PROXY_READY = { key: LABEL_PROXY_READY, operator: 'In', values: ['true'] };

const servers: WebhookServer[] = [];
const configs: string[] = [];
const seen = new Map<string, AdmissionReview>();
const calls: { name: string; policy: PolicyName }[] = [];

async function startWebhook(policy: PolicyName, namespace: string): Promise<void> {
  const ca = createCa('kuik-test-ca', 86_400_000);
  const server = new WebhookServer({
    host: '127.0.0.1',
    port: 0,
    policy: POLICIES[policy],
    logger: silentLogger,
    onMutation: (_n, review) => {
      const r = review.request!;
      const name = r.name ?? r.object?.metadata?.name ?? '';
      const key = r.subResource ? `${name}-${r.subResource}` : name;
      seen.set(key, review);
      calls.push({ name: key, policy });
    },
  });
  await server.setCertificate(createServingCert(ca, ['127.0.0.1'], 86_400_000));
  servers.push(server);
  const name = `kuik-test-${policy}-${suffix()}`;
  configs.push(name);
  await applyWebhookConfiguration({
    name,
    url: `https://127.0.0.1:${server.address().port}/mutate`,
    caBundle: ca.cert,
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
    // No objectSelector here: the pod label rule is checked by the webhook itself too.
    objectSelector: {},
  });
}

async function ensureNamespace(name: string): Promise<void> {
  const c = kube();
  if (!(await c.getOrNull(`/api/v1/namespaces/${name}`))) await c.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  if (!(await c.getOrNull(`/api/v1/namespaces/${name}/serviceaccounts/default`))) {
    await c.create(`/api/v1/namespaces/${name}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  }
  await c.request('DELETE', `/api/v1/namespaces/${name}/pods`, { query: { gracePeriodSeconds: 0 } });
  await waitFor(`pods of ${name} gone`, 20_000, async () => ((await c.get<{ items: unknown[] }>(`/api/v1/namespaces/${name}/pods`)).items.length === 0));
}

async function create(namespace: string, body: Record<string, unknown>): Promise<Pod> {
  return kube().create<Pod>(`/api/v1/namespaces/${namespace}/pods`, body);
}

/** Writes the recorded request (and, the first time, a draft expectation to review by hand). */
function record(name: string, policy: PolicyName, description: string): void {
  if (!RECORD) return;
  const review = seen.get(name);
  if (!review) throw new Error(`the API server did not call the webhook for ${name}`);
  writeFileSync(`${fixtures}${name}.review.json`, JSON.stringify(review, null, 2) + '\n');
  const expected = `${fixtures}${name}.expected.json`;
  if (!existsSync(expected)) {
    const patch = mutatePod(review.request!, POLICIES[policy]).patch;
    writeFileSync(expected, JSON.stringify({ policy, description, draft: true, patch }, null, 2) + '\n');
  }
}

beforeAll(async () => {
  for (const ns of [NAMESPACE_A, NAMESPACE_B, IGNORED_NAMESPACE]) await ensureNamespace(ns);
  await startWebhook('a', NAMESPACE_A);
  await startWebhook('a', IGNORED_NAMESPACE);
  await startWebhook('b', NAMESPACE_B);
});

afterAll(async () => {
  for (const name of configs) await deleteWebhookConfiguration(name);
  for (const s of servers) await s.close();
  for (const ns of [NAMESPACE_A, NAMESPACE_B, IGNORED_NAMESPACE]) await kube().request('DELETE', `/api/v1/namespaces/${ns}/pods`, { query: { gracePeriodSeconds: 0 } });
});

const c = (name: string, image: string, imagePullPolicy?: string) => ({ name, image, ...(imagePullPolicy ? { imagePullPolicy } : {}) });

describe('the API server calls the webhook and pods come back rewritten', () => {
  it('rewrites a container, keeps the original, labels the pod and requires a proxy-ready node', async () => {
    const p = await create(NAMESPACE_A, pod('basic', [c('web', 'nginx:1.27', 'IfNotPresent')]));
    expect(p.spec?.containers?.[0]?.image).toBe('localhost:7439/docker.io/library/nginx:1.27');
    expect(p.metadata?.annotations).toEqual({ 'original-image-web': 'nginx:1.27' });
    expect(p.metadata?.labels).toEqual({ 'kuik.enix.io/managed': 'true' });
    expect(p.spec?.affinity).toEqual({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [PROXY_READY] }] } } });
    record('basic', 'a', 'a container with IfNotPresent is rewritten; annotation, label and node affinity added');
  });

  it('rewrites digest-pinned images and registry hosts with a port', async () => {
    const p = await create(NAMESPACE_A, pod('digest-port', [c('app', `my.reg:5000/a/b@${DIGEST}`)]));
    expect(p.spec?.containers?.[0]?.image).toBe(`localhost:7439/my.reg-5000/a/b@${DIGEST}`);
    expect(p.metadata?.annotations?.['original-image-app']).toBe(`my.reg:5000/a/b@${DIGEST}`);
    record('digest-port', 'a', 'digest-pinned image from a registry with a port: rewritten, ":" in the host written "-"');
  });

  it('rewrites init containers and sidecars next to existing labels and annotations', async () => {
    const p = await create(
      NAMESPACE_A,
      pod('init-and-sidecars', [c('app', 'nginx:1.27', 'IfNotPresent'), c('sidecar', 'ghcr.io/x/y:v1')], {
        metadata: { labels: { app: 'demo' }, annotations: { note: 'kept' } },
        spec: { initContainers: [c('setup', 'busybox:1.36')] },
      }),
    );
    expect(p.spec?.containers?.map((x) => x.image)).toEqual(['localhost:7439/docker.io/library/nginx:1.27', 'localhost:7439/ghcr.io/x/y:v1']);
    expect(p.spec?.initContainers?.[0]?.image).toBe('localhost:7439/docker.io/library/busybox:1.36');
    expect(p.metadata?.annotations).toEqual({
      note: 'kept',
      'original-image-app': 'nginx:1.27',
      'original-image-sidecar': 'ghcr.io/x/y:v1',
      'original-init-image-setup': 'busybox:1.36',
    });
    expect(p.metadata?.labels).toEqual({ app: 'demo', 'kuik.enix.io/managed': 'true' });
    record('init-and-sidecars', 'a', 'init container and two containers, existing labels and annotations kept');
  });

  it('skips pull policy Never and Always (ignorePullPolicyAlways), including :latest defaulted to Always', async () => {
    const never = await create(NAMESPACE_A, pod('pull-never', [c('a', 'nginx:1.27', 'Never')]));
    expect(never.spec?.containers?.[0]?.image).toBe('nginx:1.27');
    expect(never.metadata?.labels).toBeUndefined();
    const always = await create(NAMESPACE_A, pod('pull-always', [c('a', 'nginx:1.27', 'Always'), c('b', 'nginx')]));
    expect(always.spec?.containers?.map((x) => [x.image, x.imagePullPolicy])).toEqual([
      ['nginx:1.27', 'Always'],
      ['nginx', 'Always'],
    ]);
    record('pull-never', 'a', 'imagePullPolicy Never: not rewritten');
    record('pull-always', 'a', 'imagePullPolicy Always, explicit or defaulted for :latest: not rewritten');
  });

  it('skips images matching ignoredImages, rewrites the others', async () => {
    const p = await create(NAMESPACE_A, pod('ignored-image', [c('a', 'quay.io/ignored/thing:1'), c('b', 'nginx:1.27', 'IfNotPresent')]));
    expect(p.spec?.containers?.map((x) => x.image)).toEqual(['quay.io/ignored/thing:1', 'localhost:7439/docker.io/library/nginx:1.27']);
    record('ignored-image', 'a', 'one image matches ignoredImages and is left alone');
  });

  it('skips pods labelled image-caching-policy=ignore and ignored namespaces', async () => {
    const labelled = await create(NAMESPACE_A, pod('ignore-label', [c('a', 'nginx:1.27', 'IfNotPresent')], { metadata: { labels: { 'kube-image-keeper.enix.io/image-caching-policy': 'ignore' } } }));
    expect(labelled.spec?.containers?.[0]?.image).toBe('nginx:1.27');
    const ignoredNs = await create(IGNORED_NAMESPACE, pod('ignored-namespace', [c('a', 'nginx:1.27', 'IfNotPresent')]));
    expect(ignoredNs.spec?.containers?.[0]?.image).toBe('nginx:1.27');
    record('ignore-label', 'a', 'pod labelled kube-image-keeper.enix.io/image-caching-policy=ignore');
    record('ignored-namespace', 'a', 'pod in a namespace listed in ignoredNamespaces');
  });

  it('merges the proxy-ready requirement into an existing node affinity', async () => {
    const p = await create(
      NAMESPACE_A,
      pod('existing-affinity', [c('a', 'nginx:1.27', 'IfNotPresent')], {
        spec: {
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }],
              },
            },
          },
        },
      }),
    );
    expect(p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }, PROXY_READY] },
      { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }, PROXY_READY] },
    ]);
    record('existing-affinity', 'a', 'existing required node affinity: the requirement is ANDed into each term');
  });

  it('does not rewrite twice (images already pointing at the proxy)', async () => {
    const p = await create(NAMESPACE_A, pod('already-rewritten', [c('a', 'localhost:7439/docker.io/library/nginx:1.27', 'IfNotPresent')]));
    expect(p.spec?.containers?.[0]?.image).toBe('localhost:7439/docker.io/library/nginx:1.27');
    record('already-rewritten', 'a', 'image already pointing at the proxy: no patch');
  });

  it("adds the proxy-host copies of a rewritten pod's own pull secrets (policy a), and only then", async () => {
    const p = await create(
      NAMESPACE_A,
      pod('pull-secrets', [c('app', 'registry.example.com/team/app:1.0', 'IfNotPresent')], { spec: { imagePullSecrets: [{ name: 'regcred' }, { name: 'kuik-proxy-old' }, { name: 'other' }] } }),
    );
    expect(p.spec?.containers?.[0]?.image).toBe('localhost:7439/registry.example.com/team/app:1.0');
    // The originals stay first (images that were not rewritten still need them); a copy is never copied again.
    expect(p.spec?.imagePullSecrets).toEqual([{ name: 'regcred' }, { name: 'kuik-proxy-old' }, { name: 'other' }, { name: 'kuik-proxy-regcred' }, { name: 'kuik-proxy-other' }]);
    record('pull-secrets', 'a', "the pod's own pull secrets get their proxy-host copies appended");
    const untouched = await create(NAMESPACE_A, pod('pull-secrets-not-rewritten', [c('app', 'nginx:1.27', 'Never')], { spec: { imagePullSecrets: [{ name: 'regcred' }] } }));
    expect(untouched.spec?.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    const b = await create(NAMESPACE_B, pod('pull-secrets-off', [c('a', 'nginx:1.27', 'IfNotPresent')], { spec: { imagePullSecrets: [{ name: 'regcred' }] } }));
    expect(b.spec?.containers?.[0]?.image).toBe('localhost:7439/docker.io/library/nginx:1.27');
    expect(b.spec?.imagePullSecrets).toEqual([{ name: 'regcred' }]);
  });

  it('rewrites ephemeral containers added with kubectl debug (pods/ephemeralcontainers)', async () => {
    await create(NAMESPACE_A, pod('debug-target', [c('app', 'nginx:1.27', 'IfNotPresent')]));
    const path = `/api/v1/namespaces/${NAMESPACE_A}/pods/debug-target/ephemeralcontainers`;
    const patched = await kube().request<Pod>('PATCH', path, {
      body: { spec: { ephemeralContainers: [{ name: 'debugger', image: 'busybox:1.36', imagePullPolicy: 'IfNotPresent', stdin: true, tty: true }] } },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(patched.spec?.ephemeralContainers?.[0]?.image).toBe('localhost:7439/docker.io/library/busybox:1.36');
    // Containers stay as created; the API server keeps metadata unchanged on this subresource.
    expect(patched.spec?.containers?.[0]?.image).toBe('localhost:7439/docker.io/library/nginx:1.27');
    expect(patched.metadata?.annotations?.['original-ephemeral-image-debugger']).toBeUndefined();
    record('debug-target-ephemeralcontainers', 'a', 'UPDATE of pods/ephemeralcontainers: only the new ephemeral container is rewritten');
  });

  it('policy b: only acceptedImages, Always-pulled images included, no affinity', async () => {
    const p = await create(NAMESPACE_B, pod('accepted-only', [c('a', 'nginx:1.27', 'IfNotPresent'), c('b', 'ghcr.io/x/y:v1')]));
    expect(p.spec?.containers?.map((x) => x.image)).toEqual(['localhost:7439/docker.io/library/nginx:1.27', 'ghcr.io/x/y:v1']);
    expect(p.spec?.affinity).toBeUndefined();
    const always = await create(NAMESPACE_B, pod('always-allowed', [c('a', 'nginx:latest', 'Always')]));
    expect(always.spec?.containers?.[0]?.image).toBe('localhost:7439/docker.io/library/nginx:latest');
    record('accepted-only', 'b', 'acceptedImages set: images not matching are left alone; no node affinity');
    record('always-allowed', 'b', 'ignorePullPolicyAlways false: an Always-pulled image is rewritten');
  });

  it('a node without kuik.enix.io/proxy-ready cannot receive a rewritten pod', async () => {
    const c8s = kube();
    const nodeName = `node-${suffix()}`;
    await c8s.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName, labels: { 'kubernetes.io/hostname': nodeName } } });
    try {
      const p = await create(NAMESPACE_A, pod(`scheduled-${suffix()}`, [c('a', 'nginx:1.27', 'IfNotPresent')]));
      const node = await c8s.get<{ metadata: { labels?: Record<string, string> } }>(`/api/v1/nodes/${nodeName}`);
      const terms = p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
      expect(terms.length).toBeGreaterThan(0);
      expect(nodeMatches(terms, node.metadata.labels ?? {})).toBe(false);
      // Once its proxy is ready (label set), the same node qualifies.
      await c8s.mergePatch(`/api/v1/nodes/${nodeName}`, { metadata: { labels: { [LABEL_PROXY_READY]: 'true' } } });
      const ready = await c8s.get<{ metadata: { labels?: Record<string, string> } }>(`/api/v1/nodes/${nodeName}`);
      expect(nodeMatches(terms, ready.metadata.labels ?? {})).toBe(true);
    } finally {
      await c8s.delete(`/api/v1/nodes/${nodeName}`);
    }
  });

  it('every call was answered by the policy of its namespace', () => {
    expect(calls.length).toBeGreaterThanOrEqual(13);
  });
});

/** The scheduler's rule for required node affinity (In / NotIn / Exists / DoesNotExist on labels). */
function nodeMatches(terms: { matchExpressions?: { key: string; operator: string; values?: string[] }[] }[], labels: Record<string, string>): boolean {
  return terms.some(
    (t) =>
      (t.matchExpressions ?? []).length > 0 &&
      (t.matchExpressions ?? []).every((e) => {
        const v = labels[e.key];
        switch (e.operator) {
          case 'In':
            return v !== undefined && (e.values ?? []).includes(v);
          case 'NotIn':
            return v === undefined || !(e.values ?? []).includes(v);
          case 'Exists':
            return v !== undefined;
          case 'DoesNotExist':
            return v === undefined;
          default:
            return false;
        }
      }),
  );
}
