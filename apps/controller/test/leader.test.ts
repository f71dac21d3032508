// Two controller processes (the built bundle) against the real kube-apiserver: one leads, the
// self-managed webhook TLS is set up (Secret + caBundle) and served by both; SIGKILL the leader
// and the other leads within the lease duration; the Lease history shows no overlap; a graceful
// stop releases the lease so the standby takes over at once.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CACHED_IMAGES_PATH, REPOSITORIES_PATH } from '../src/crds/types.js';
import type { Pod } from '../src/kube/types.js';
import { applyWebhookConfiguration, createNamespace, deleteNamespace, deleteWebhookConfiguration, forceDelete, freePort, installCrds, kube, kubeEnv, pod, sleep, suffix, waitFor } from './harness.js';
import { metric, startController, stopController, waitReady, type ControllerProcess } from './processes.js';

const LEASE = { leaseDuration: '4s', renewDeadline: '3s', retryPeriod: '500ms' };
const LEASE_MS = 4000;
const RETRY_MS = 500;

interface LeaseRecord {
  at: number;
  holder: string;
  acquireTime?: string;
  renewTime?: string;
  transitions: number;
}

let ns = '';
/** Pods go elsewhere: the controller's own namespace is never rewritten. */
let podNs = '';
let webhookName = '';
const procs: ControllerProcess[] = [];
const history: LeaseRecord[] = [];
let stopWatch: AbortController | undefined;

async function spawnReplica(name: string): Promise<ControllerProcess> {
  const ops = await freePort();
  const webhook = await freePort();
  const p = startController(
    name,
    {
      namespace: ns,
      identity: name,
      log: { level: 'info' },
      ops: { listen: `127.0.0.1:${ops}` },
      webhook: {
        listen: `127.0.0.1:${webhook}`,
        tls: { mode: 'self-managed', secretName: 'kuik-webhook-tls', webhookConfigurationName: webhookName, extraHosts: ['127.0.0.1'] },
      },
      leaderElection: LEASE,
      registry: { url: 'http://127.0.0.1:9' },
      kubeApi: { kubeconfig: kubeEnv()['KUBECONFIG'] },
    },
    ops,
  );
  (p as ControllerProcess & { webhookPort: number }).webhookPort = webhook;
  procs.push(p);
  return p;
}

async function leaseHolder(): Promise<string> {
  const l = await kube().getOrNull<{ spec: { holderIdentity?: string } }>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/kuik-controller`);
  return l?.spec.holderIdentity ?? '';
}

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('kuik-le');
  podNs = await createNamespace('kuik-le-pods');
  webhookName = `kuik-le-${suffix()}`;
  stopWatch = new AbortController();
  const c = kube();
  void c
    .watch<{ spec: { holderIdentity?: string; acquireTime?: string; renewTime?: string; leaseTransitions?: number } }>(
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
      { fieldSelector: 'metadata.name=kuik-controller' },
      (e) => {
        if (e.type !== 'ADDED' && e.type !== 'MODIFIED') return;
        const s = e.object.spec;
        history.push({ at: Date.now(), holder: s.holderIdentity ?? '', acquireTime: s.acquireTime, renewTime: s.renewTime, transitions: s.leaseTransitions ?? 0 });
      },
      stopWatch.signal,
    )
    .catch(() => undefined);
});

afterAll(async () => {
  for (const p of procs) await stopController(p, 'SIGKILL');
  stopWatch?.abort();
  await deleteWebhookConfiguration(webhookName);
  await deleteNamespace(podNs);
  await deleteNamespace(ns);
  // The leaders created a CachedImage (with its finalizer) and a Repository for the pods' image;
  // nothing is left running to release them, and another controller on this API server would
  // otherwise try to cache docker.io/library/nginx:1.27 from the internet.
  await forceDelete(`${CACHED_IMAGES_PATH}/docker.io-library-nginx-1.27`);
  await forceDelete(`${REPOSITORIES_PATH}/docker.io-library-nginx`);
});

describe('two controller processes', () => {
  it('one leads; both serve the webhook with the self-managed certificate', async () => {
    const a = await spawnReplica('replica-a');
    await waitFor('replica-a to lead', 20_000, async () => (await leaseHolder()) === 'replica-a');
    const b = await spawnReplica('replica-b');
    // The leader creates the TLS Secret; both replicas load it and become ready.
    await waitReady(a);
    await waitReady(b);
    expect(await metric(a, 'kube_image_keeper_controller_is_leader')).toBe(1);
    expect(await metric(b, 'kube_image_keeper_controller_is_leader')).toBe(0);

    // The webhook configuration (as the chart installs it, caBundle empty) gets the CA from the leader.
    const port = (b as ControllerProcess & { webhookPort: number }).webhookPort;
    await applyWebhookConfiguration({ name: webhookName, url: `https://127.0.0.1:${port}/mutate`, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': podNs } } });
    const ca = await waitFor('caBundle written by the leader', 15_000, async () => {
      const mwc = await kube().get<{ webhooks: { clientConfig: { caBundle?: string } }[] }>(`/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${webhookName}`);
      return mwc.webhooks[0]?.clientConfig.caBundle || undefined;
    });
    expect(Buffer.from(ca, 'base64').toString()).toContain('BEGIN CERTIFICATE');
    const created = await waitFor('a pod rewritten through the standby replica', 15_000, async () => {
      const p = await kube().create<Pod>(`/api/v1/namespaces/${podNs}/pods`, pod(`p-${suffix()}`, [{ name: 'a', image: 'nginx:1.27', imagePullPolicy: 'IfNotPresent' }]));
      return p.spec?.containers?.[0]?.image?.startsWith('localhost:7439/') ? p : undefined;
    }, 500);
    expect(created.spec?.containers?.[0]?.image).toBe('localhost:7439/docker.io/library/nginx:1.27');
  });

  it('SIGKILL of the leader: the other leads within leaseDuration + retryPeriod, with no overlap', async () => {
    const [a, b] = procs as [ControllerProcess, ControllerProcess];
    await sleep(1500); // a few renewals, so the standby has observed a recent one
    const killedAt = Date.now();
    await stopController(a, 'SIGKILL');
    await waitFor('replica-b to lead', LEASE_MS + 5 * RETRY_MS, async () => (await leaseHolder()) === 'replica-b', 50);
    const takeover = Date.now() - killedAt;
    expect(takeover).toBeLessThanOrEqual(LEASE_MS + RETRY_MS + 300);
    await waitFor('replica-b reports is_leader', 5000, async () => (await metric(b, 'kube_image_keeper_controller_is_leader')) === 1);

    const lastOfA = history.filter((h) => h.holder === 'replica-a').at(-1)!;
    const firstOfB = history.find((h) => h.holder === 'replica-b')!;
    expect(Date.parse(firstOfB.acquireTime!) - Date.parse(lastOfA.renewTime!)).toBeGreaterThanOrEqual(LEASE_MS);
    expect(firstOfB.transitions).toBe(lastOfA.transitions + 1);
  });

  it('SIGTERM of the leader releases the lease: a standby takes over at its next retry', async () => {
    const c = await spawnReplica('replica-c');
    await waitReady(c);
    const b = procs[1]!;
    await sleep(1000);
    const stoppedAt = Date.now();
    const code = await stopController(b, 'SIGTERM');
    expect(code).toBe(0);
    await waitFor('replica-c to lead', LEASE_MS, async () => (await leaseHolder()) === 'replica-c', 50);
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_MS);
    expect(b.logs.some((l) => l.includes('released the lease'))).toBe(true);
    // Holders never overlap: every change of holder is a release or comes leaseDuration after the last renewal.
    for (let i = 1; i < history.length; i++) {
      const prev = history[i - 1]!;
      const cur = history[i]!;
      expect(cur.transitions).toBeGreaterThanOrEqual(prev.transitions);
      if (prev.holder && cur.holder && prev.holder !== cur.holder) {
        expect(Date.parse(cur.acquireTime!) - Date.parse(prev.renewTime!)).toBeGreaterThanOrEqual(LEASE_MS);
      }
    }
  });
});

