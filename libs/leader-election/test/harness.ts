// Helpers for the tests against the real kube-apiserver: a requester from the test server's
// kubeconfig, unique lease names, a watch that records every version of a Lease, and a LeaseClient
// wrapper that injects network faults (the API server itself stays real).
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { requireServer } from '@kuik/testing';
import { randomBytes } from 'node:crypto';
import { KubeLeaseClient, kubeConfigRequester, type KubeRequester, type LeaderElectionRecord, type LeaseClient, type ObservedLease } from '../src/index.js';

export const NAMESPACE = 'default';

export function kubeConfig(): KubeConfig {
  const env = requireServer('kube-apiserver');
  const kc = new KubeConfig();
  kc.loadFromFile(env['KUBECONFIG']!);
  return kc;
}

let shared: KubeRequester | undefined;
export function requester(): KubeRequester {
  shared ??= kubeConfigRequester(kubeConfig(), 'leader-election-tests');
  return shared;
}

export function uniqueLeaseName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export function leaseClient(name: string): KubeLeaseClient {
  return new KubeLeaseClient({ namespace: NAMESPACE, name, request: requester() });
}

export interface LeaseVersion {
  at: number;
  resourceVersion: string;
  record: LeaderElectionRecord;
}

/** Records every version of one Lease the API server reports, from its creation on. */
const openWatches = new Set<AbortController>();

/** Stops every watch a test opened (afterEach: a failed assertion must not leave one running). */
export function stopAllWatches(): void {
  for (const c of openWatches) c.abort();
  openWatches.clear();
}

export async function watchLease(name: string): Promise<{ history: LeaseVersion[]; stop: () => void }> {
  const history: LeaseVersion[] = [];
  const watch = new Watch(kubeConfig());
  const controller = await watch.watch(
    `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases`,
    { fieldSelector: `metadata.name=${name}` },
    (type, obj: { metadata: { resourceVersion: string }; spec: Partial<LeaderElectionRecord> }) => {
      if (type !== 'ADDED' && type !== 'MODIFIED') return;
      history.push({
        at: performance.now(),
        resourceVersion: obj.metadata.resourceVersion,
        record: {
          holderIdentity: obj.spec.holderIdentity ?? '',
          leaseDurationSeconds: obj.spec.leaseDurationSeconds ?? 0,
          acquireTime: obj.spec.acquireTime,
          renewTime: obj.spec.renewTime,
          leaseTransitions: obj.spec.leaseTransitions ?? 0,
        },
      });
    },
    () => undefined,
  );
  openWatches.add(controller);
  return {
    history,
    stop: () => {
      openWatches.delete(controller);
      controller.abort();
    },
  };
}

export async function deleteLease(name: string): Promise<void> {
  await requester()({ method: 'DELETE', path: `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${name}` });
}

export type Fault = 'none' | 'drop-request' | 'drop-response' | 'delay';

/**
 * A LeaseClient whose "network" can fail: requests never sent, responses lost after the write
 * committed, or requests delivered late (possibly after the caller gave up on them).
 */
export class FaultyLeaseClient implements LeaseClient {
  fault: Fault = 'none';
  constructor(
    private readonly inner: LeaseClient,
    private readonly maxDelayMs = 3000,
  ) {}
  describe(): string {
    return this.inner.describe();
  }
  get(signal: AbortSignal): Promise<ObservedLease | null> {
    return this.call(signal, (s) => this.inner.get(s));
  }
  create(record: LeaderElectionRecord, signal: AbortSignal): Promise<ObservedLease> {
    return this.call(signal, (s) => this.inner.create(record, s));
  }
  update(current: ObservedLease, record: LeaderElectionRecord, signal: AbortSignal): Promise<ObservedLease> {
    return this.call(signal, (s) => this.inner.update(current, record, s));
  }
  private call<T>(signal: AbortSignal, op: (s: AbortSignal) => Promise<T>): Promise<T> {
    const fault = this.fault;
    if (fault === 'none') return op(signal);
    const aborted = new Promise<never>((_, reject) => {
      const fail = () => reject(new Error(`request aborted (${fault})`));
      if (signal.aborted) fail();
      else signal.addEventListener('abort', fail, { once: true });
    });
    if (fault === 'drop-request') return aborted;
    if (fault === 'drop-response') {
      void op(new AbortController().signal).catch(() => undefined);
      return aborted;
    }
    // delay: the request reaches the server late, even if the caller has given up by then.
    const late = new Promise<T>((resolve, reject) => {
      setTimeout(() => op(new AbortController().signal).then(resolve, reject), Math.random() * this.maxDelayMs);
    });
    return Promise.race([late, aborted]);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(what: string, timeoutMs: number, cond: () => boolean | Promise<boolean>, everyMs = 20): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await cond()) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
