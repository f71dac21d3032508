// LeaseClient on a coordination.k8s.io/v1 Lease. Writes are full replacements (PUT) carrying the
// resourceVersion that was read, so the API server rejects a write based on a stale read with 409:
// that optimistic concurrency is what makes two candidates unable to both acquire.
import { kubeConfigRequester, type KubeRequester } from './kube-requester.js';
import { LeaseConflictError, type LeaderElectionRecord, type LeaseClient, type ObservedLease } from './types.js';
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubeLeaseClientOptions {
  namespace: string;
  name: string;
  /** How to reach the API server: a KubeConfig, or a requester shared with the rest of the program. */
  kubeConfig?: KubeConfig;
  request?: KubeRequester;
  /** Labels put on the Lease when it is created. */
  labels?: Record<string, string>;
}

interface LeaseJson {
  metadata?: { resourceVersion?: string; labels?: Record<string, string> };
  spec?: Partial<LeaderElectionRecord> & { holderIdentity?: string | null };
}

export class KubeLeaseApiError extends Error {
  constructor(
    readonly status: number,
    readonly operation: string,
    body: unknown,
  ) {
    const msg = (body as { message?: string } | undefined)?.message;
    super(`lease ${operation} failed with HTTP ${status}${msg ? `: ${msg}` : ''}`);
    this.name = 'KubeLeaseApiError';
  }
}

export class KubeLeaseClient implements LeaseClient {
  private readonly request: KubeRequester;
  private readonly collection: string;

  constructor(private readonly opts: KubeLeaseClientOptions) {
    if (opts.request) this.request = opts.request;
    else if (opts.kubeConfig) this.request = kubeConfigRequester(opts.kubeConfig);
    else throw new Error('KubeLeaseClient needs kubeConfig or request');
    this.collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(opts.namespace)}/leases`;
  }

  describe(): string {
    return `${this.opts.namespace}/${this.opts.name}`;
  }

  async get(signal: AbortSignal): Promise<ObservedLease | null> {
    const res = await this.request({ method: 'GET', path: `${this.collection}/${encodeURIComponent(this.opts.name)}`, signal });
    if (res.status === 404) return null;
    if (res.status !== 200) throw new KubeLeaseApiError(res.status, 'get', res.body);
    return toObserved(res.body as LeaseJson);
  }

  async create(record: LeaderElectionRecord, signal: AbortSignal): Promise<ObservedLease> {
    const body = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.opts.name, namespace: this.opts.namespace, ...(this.opts.labels ? { labels: this.opts.labels } : {}) },
      spec: toSpec(record),
    };
    const res = await this.request({ method: 'POST', path: this.collection, body, signal });
    if (res.status === 409) throw new LeaseConflictError('the lease already exists');
    if (res.status !== 201 && res.status !== 200) throw new KubeLeaseApiError(res.status, 'create', res.body);
    return toObserved(res.body as LeaseJson);
  }

  async update(current: ObservedLease, record: LeaderElectionRecord, signal: AbortSignal): Promise<ObservedLease> {
    const body = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.opts.name, namespace: this.opts.namespace, resourceVersion: current.resourceVersion },
      spec: toSpec(record),
    };
    const res = await this.request({ method: 'PUT', path: `${this.collection}/${encodeURIComponent(this.opts.name)}`, body, signal });
    if (res.status === 409) throw new LeaseConflictError();
    // Deleted under our feet: the next attempt creates it again.
    if (res.status === 404) throw new LeaseConflictError('the lease was deleted');
    if (res.status !== 200) throw new KubeLeaseApiError(res.status, 'update', res.body);
    return toObserved(res.body as LeaseJson);
  }
}

function toSpec(r: LeaderElectionRecord): Record<string, unknown> {
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    acquireTime: r.acquireTime,
    renewTime: r.renewTime,
    leaseTransitions: r.leaseTransitions,
  };
}

function toObserved(lease: LeaseJson): ObservedLease {
  const s = lease.spec ?? {};
  return {
    resourceVersion: lease.metadata?.resourceVersion ?? '',
    record: {
      holderIdentity: s.holderIdentity ?? '',
      leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
      acquireTime: s.acquireTime ?? undefined,
      renewTime: s.renewTime ?? undefined,
      leaseTransitions: s.leaseTransitions ?? 0,
    },
  };
}

/** Formats a time as the API's MicroTime (RFC 3339 with exactly six fractional digits). */
export function toMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
