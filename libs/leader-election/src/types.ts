// The data a leader election lock stores, and the narrow interface the elector needs from it.
// Kept separate from any Kubernetes client so the elector's timing logic does not depend on how
// the Lease is read and written (the default implementation is KubeLeaseClient).

/** The fields of a coordination.k8s.io/v1 LeaseSpec the elector reads and writes. */
export interface LeaderElectionRecord {
  /** The current holder; '' when the lease was released. */
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** RFC 3339 with microseconds (the API's MicroTime), written by the holder. */
  acquireTime?: string;
  renewTime?: string;
  /** Incremented every time the holder changes. */
  leaseTransitions: number;
}

/** A record as stored, with the resourceVersion that makes the next write conditional on it. */
export interface ObservedLease {
  resourceVersion: string;
  record: LeaderElectionRecord;
}

/** Thrown by LeaseClient.create/update when another writer got there first (HTTP 409). */
export class LeaseConflictError extends Error {
  constructor(message = 'the lease was modified concurrently') {
    super(message);
    this.name = 'LeaseConflictError';
  }
}

/**
 * Storage of one lease. Every call must honour its AbortSignal: the elector aborts a renewal
 * that would finish after its renew deadline.
 */
export interface LeaseClient {
  /** The stored lease, or null when it does not exist. */
  get(signal: AbortSignal): Promise<ObservedLease | null>;
  /** Creates the lease; LeaseConflictError when it already exists. */
  create(record: LeaderElectionRecord, signal: AbortSignal): Promise<ObservedLease>;
  /** Replaces the record if it is still at `current.resourceVersion`; LeaseConflictError otherwise. */
  update(current: ObservedLease, record: LeaderElectionRecord, signal: AbortSignal): Promise<ObservedLease>;
  /** "namespace/name", for logs. */
  describe(): string;
}

/** The subset of a structured logger the elector writes to (compatible with @kuik/observability). */
export interface ElectionLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}
