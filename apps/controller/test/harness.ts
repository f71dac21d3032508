// Shared helpers of the controller's tests against the real kube-apiserver
// (bash tools/test-servers/kube-apiserver.sh start): a client, CRD installation, namespaces with
// their default ServiceAccount (no controller-manager creates it), free ports, waiting.
import { KubeConfig } from '@kubernetes/client-node';
import { requireServer } from '@kuik/testing';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { silentLogger } from '@kuik/observability';
import { KubeClient, isConflict, isNotFound } from '../src/kube/client.js';
import { CRDS } from '../src/crds/definitions.js';
import { parseControllerConfig, DEFAULTS, type ControllerConfig } from '../src/config.js';

export function kubeEnv(): Record<string, string> {
  return requireServer('kube-apiserver');
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeEnv()['KUBECONFIG']!);
  return kc;
}

let shared: KubeClient | undefined;
export function kube(): KubeClient {
  shared ??= new KubeClient(kubeConfig(), { qps: 1000, burst: 1000, userAgent: 'kuik-controller-tests' });
  return shared;
}

export const suffix = (): string => randomBytes(3).toString('hex');

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false> | T | undefined | false, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

/** Creates or updates the kuik CRDs and waits until the API server serves them. */
export async function installCrds(): Promise<void> {
  const c = kube();
  for (const crd of CRDS) {
    const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`;
    const existing = await c.getOrNull<{ metadata: { resourceVersion: string } }>(path);
    if (existing) await c.replace(path, { ...crd, metadata: { ...crd.metadata, resourceVersion: existing.metadata.resourceVersion } });
    else {
      try {
        await c.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    await waitFor(`CRD ${crd.metadata.name} established`, 30_000, async () => {
      const s = await c.get<{ status?: { conditions?: { type: string; status: string }[] } }>(path);
      return s.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
    });
  }
  // Discovery of a new group can lag behind Established.
  await waitFor('kuik.enix.io served', 30_000, async () => !!(await c.getOrNull('/apis/kuik.enix.io/v1alpha1/cachedimages')));
}

/** A fresh namespace with its default ServiceAccount (pods need it; nothing else creates it here). */
export async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${suffix()}`;
  const c = kube();
  await c.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await c.create(`/api/v1/namespaces/${name}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  return name;
}

export async function deleteNamespace(name: string): Promise<void> {
  // Without a controller-manager the namespace stays Terminating; its pods are deleted here.
  const c = kube();
  await c.request('DELETE', `/api/v1/namespaces/${name}/pods`, { query: { gracePeriodSeconds: 0 } }).catch(() => undefined);
  await c.delete(`/api/v1/namespaces/${name}`).catch(() => undefined);
}

/**
 * Deletes an object whatever its finalizers (cleanup after the controller that would have
 * released them stopped): the finalizers are dropped first, then the object is deleted.
 */
export async function forceDelete(path: string): Promise<void> {
  const c = kube();
  try {
    await c.mergePatch(path, { metadata: { finalizers: null } });
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  await c.delete(path);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A controller configuration for tests: defaults plus overrides (same keys as the YAML file). */
export function testConfig(overrides: Record<string, unknown>): ControllerConfig {
  const tree = structuredClone(DEFAULTS) as Record<string, unknown>;
  deepMerge(tree, overrides);
  return parseControllerConfig(tree, {});
}

function deepMerge(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>);
    else into[k] = v;
  }
}

export interface MutatingWebhookOptions {
  name: string;
  url: string;
  caBundle?: string;
  namespaceSelector?: unknown;
  objectSelector?: unknown;
}

/** The webhook configuration the Helm chart installs, pointing at a URL (the API server runs here). */
export function mutatingWebhookConfiguration(o: MutatingWebhookOptions): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: o.name },
    webhooks: [
      {
        name: 'pods.kuik.enix.io',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Ignore',
        reinvocationPolicy: 'IfNeeded',
        timeoutSeconds: 10,
        clientConfig: { url: o.url, ...(o.caBundle ? { caBundle: Buffer.from(o.caBundle).toString('base64') } : {}) },
        rules: [
          { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' },
          { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods/ephemeralcontainers'], scope: 'Namespaced' },
        ],
        namespaceSelector: o.namespaceSelector ?? { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }] },
        objectSelector: o.objectSelector ?? { matchExpressions: [{ key: 'kube-image-keeper.enix.io/image-caching-policy', operator: 'NotIn', values: ['ignore'] }] },
      },
    ],
  };
}

export async function applyWebhookConfiguration(o: MutatingWebhookOptions): Promise<void> {
  const c = kube();
  const path = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${o.name}`;
  await c.delete(path);
  await c.create('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', mutatingWebhookConfiguration(o));
}

export async function deleteWebhookConfiguration(name: string): Promise<void> {
  await kube().delete(`/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}`);
}

export function pod(name: string, containers: Record<string, unknown>[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { metadata, spec, ...rest } = extra as { metadata?: Record<string, unknown>; spec?: Record<string, unknown> };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...metadata },
    spec: { automountServiceAccountToken: false, containers, ...spec },
    ...rest,
  };
}

export { isNotFound, silentLogger };
