// Leader election on a lease, with client-go's semantics (k8s.io/client-go/tools/leaderelection):
//
//   leaseDuration  how long a candidate waits, after it last saw the record change, before it may
//                  take the lease from a holder that stopped renewing;
//   renewDeadline  how long the leader keeps trying to renew before it gives up leadership;
//   retryPeriod    how often candidates try to acquire and the leader renews.
//
// Safety ("never two leaders"): a candidate measures expiry from the moment *it* observed the
// last change of the record, on its own monotonic clock, so wall-clock skew between machines does
// not matter. The leader steps down (aborts the signal given to onStartedLeading) renewDeadline
// after the start of its last successful renewal. That write committed after it started and was
// observed after it committed, so every other candidate waits at least leaseDuration from a point
// later than the leader's reference point: leadership never overlaps as long as
// renewDeadline < leaseDuration and the clocks run at about the same rate.
import { LeaseConflictError, type ElectionLogger, type LeaderElectionRecord, type LeaseClient, type ObservedLease } from './types.js';
import { toMicroTime } from './kube-lease-client.js';

export interface LeaderCallbacks {
  /**
   * Called once leadership is acquired. `signal` aborts the moment leadership is lost or given
   * up; the work must stop then. A returned promise is awaited (bounded) before a release.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called when leadership ends, after the work was told to stop (and after the release). */
  onStoppedLeading?(): void;
  /** Called whenever the observed holder changes (including to this candidate). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectorOptions {
  lock: LeaseClient;
  /** Unique among candidates (e.g. the pod name); becomes the Lease's holderIdentity. */
  identity: string;
  /** Whole seconds, since the Lease stores seconds. Default 15 s. */
  leaseDurationMs?: number;
  /** Default 10 s; must be below leaseDurationMs. */
  renewDeadlineMs?: number;
  /** Default 2 s; 1.2 × retryPeriodMs must be below renewDeadlineMs. */
  retryPeriodMs?: number;
  /**
   * On cancellation of run()'s signal, clear holderIdentity so a standby takes over at once
   * instead of after leaseDuration. Done only once the work has stopped. Default true.
   */
  releaseOnCancel?: boolean;
  /** How long to wait, on cancellation, for the work to finish before releasing. Default renewDeadline. */
  stopTimeoutMs?: number;
  callbacks: LeaderCallbacks;
  logger?: ElectionLogger;
  /** Monotonic clock in ms (tests may inject one). Default performance.now. */
  monotonicNow?: () => number;
  /** Wall clock in ms, used only for the times written into the record. Default Date.now. */
  wallNow?: () => number;
}

/** Client-go's validation, so that configurations valid there are valid here and vice versa. */
export const JITTER_FACTOR = 1.2;

const silent: ElectionLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined };

export class LeaderElector {
  readonly identity: string;
  private readonly lock: LeaseClient;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly releaseOnCancel: boolean;
  private readonly stopTimeoutMs: number;
  private readonly callbacks: LeaderCallbacks;
  private readonly log: ElectionLogger;
  private readonly now: () => number;
  private readonly wallNow: () => number;

  private observed: ObservedLease | null = null;
  /** Monotonic time at which `observed` last changed. */
  private observedAt = 0;
  private reportedLeader = '';
  /** Monotonic start time of the last successful acquire/renew; leadership is valid until + renewDeadline. */
  private lastRenewStart = -Infinity;
  private leading = false;
  private running = false;

  constructor(opts: LeaderElectorOptions) {
    this.identity = opts.identity;
    this.lock = opts.lock;
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    this.releaseOnCancel = opts.releaseOnCancel ?? true;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? this.renewDeadlineMs;
    this.callbacks = opts.callbacks;
    this.log = opts.logger ?? silent;
    this.now = opts.monotonicNow ?? (() => performance.now());
    this.wallNow = opts.wallNow ?? Date.now;
    validate(this.identity, this.leaseDurationMs, this.renewDeadlineMs, this.retryPeriodMs);
  }

  /** True while this candidate holds a lease it renewed less than renewDeadline ago. */
  isLeader(): boolean {
    return this.leading && this.now() < this.lastRenewStart + this.renewDeadlineMs;
  }

  /** The holder last observed on the lease ('' when unknown or released). */
  leader(): string {
    return this.observed?.record.holderIdentity ?? '';
  }

  /**
   * Campaigns until leadership is acquired, leads until it is lost or `signal` aborts, then
   * resolves. Call it again to stand again (a process that lost leadership usually exits instead).
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.running) throw new Error('LeaderElector.run is already running');
    this.running = true;
    try {
      this.log.info('leader election: campaigning', { lease: this.lock.describe(), identity: this.identity });
      if (await this.acquire(signal)) await this.lead(signal);
    } finally {
      this.running = false;
    }
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      const start = this.now();
      try {
        if (await this.tryAcquireOrRenew(AbortSignal.any([signal, AbortSignal.timeout(Math.ceil(this.renewDeadlineMs))]))) {
          this.lastRenewStart = start;
          return true;
        }
      } catch (err) {
        if (!signal.aborted) this.log.warn('leader election: cannot read or write the lease', { lease: this.lock.describe(), err });
      }
      await sleep(this.nextCampaignDelay(), signal);
    }
    return false;
  }

  /** Jittered downwards (never later than retryPeriod), and never past the moment the current lease expires. */
  private nextCampaignDelay(): number {
    const base = this.retryPeriodMs * (1 - (JITTER_FACTOR - 1) * Math.random());
    const holder = this.observed?.record.holderIdentity;
    if (!holder || holder === this.identity || !this.observed) return base;
    const expiresIn = this.observedAt + this.observed.record.leaseDurationSeconds * 1000 - this.now();
    return Math.max(0, Math.min(base, expiresIn + 5));
  }

  private async lead(signal: AbortSignal): Promise<void> {
    const work = new AbortController();
    const stopRenewing = new AbortController();
    this.leading = true;
    this.log.info('leader election: became leader', { lease: this.lock.describe(), identity: this.identity });

    let stepDownReason: string | undefined;
    const stepDown = (reason: string) => {
      if (stepDownReason !== undefined) return;
      stepDownReason = reason;
      this.leading = false;
      work.abort(new Error(`leadership lost: ${reason}`));
      stopRenewing.abort();
    };
    // The deadline is enforced by a timer, not by the renew loop, so a request hanging in the
    // network cannot keep this process leading past it.
    let deadline: NodeJS.Timeout | undefined;
    const armDeadline = () => {
      clearTimeout(deadline);
      deadline = setTimeout(() => stepDown('renew deadline exceeded'), Math.max(0, this.lastRenewStart + this.renewDeadlineMs - this.now()));
    };
    armDeadline();

    const workDone = Promise.resolve()
      .then(() => this.callbacks.onStartedLeading(work.signal))
      .catch((err: unknown) => this.log.warn('leader election: the leading work failed', { err }));

    const onCancel = () => stopRenewing.abort();
    signal.addEventListener('abort', onCancel, { once: true });
    try {
      while (!stopRenewing.signal.aborted) {
        await sleep(this.retryPeriodMs, stopRenewing.signal);
        if (stopRenewing.signal.aborted) break;
        const start = this.now();
        const remaining = this.lastRenewStart + this.renewDeadlineMs - start;
        try {
          if (await this.tryAcquireOrRenew(AbortSignal.any([stopRenewing.signal, AbortSignal.timeout(Math.max(1, Math.ceil(remaining)))]))) {
            this.lastRenewStart = start;
            armDeadline();
            continue;
          }
          const holder = this.leader();
          if (holder && holder !== this.identity) stepDown(`lease taken by ${holder}`);
        } catch (err) {
          if (!stopRenewing.signal.aborted) this.log.warn('leader election: renewal failed, retrying until the renew deadline', { err });
        }
      }
    } finally {
      signal.removeEventListener('abort', onCancel);
    }

    if (stepDownReason === undefined) {
      // Cancelled while leading: stop the work first, release only once it has stopped.
      const stillValid = this.isLeader();
      clearTimeout(deadline);
      this.leading = false;
      work.abort(new Error('leader election cancelled'));
      const stopped = await Promise.race([workDone.then(() => true), delay(this.stopTimeoutMs).then(() => false)]);
      if (this.releaseOnCancel && stillValid && stopped) await this.release();
      else if (this.releaseOnCancel) this.log.warn('leader election: not releasing the lease', { workStopped: stopped, leaseStillValid: stillValid });
      this.log.info('leader election: stopped leading', { reason: 'cancelled' });
    } else {
      clearTimeout(deadline);
      this.log.warn('leader election: stopped leading', { reason: stepDownReason });
    }
    try {
      this.callbacks.onStoppedLeading?.();
    } catch (err) {
      this.log.warn('leader election: onStoppedLeading failed', { err });
    }
  }

  /**
   * Clears holderIdentity (conditional on our last write) so a standby acquires at its next retry.
   * A renewal cut short by the cancellation may still have been applied by the API server, which
   * leaves our cached record one version behind: on a conflict the lease is read again, and released
   * if we still hold it (never if another candidate took it meanwhile).
   */
  private async release(): Promise<void> {
    const signal = AbortSignal.timeout(Math.ceil(this.renewDeadlineMs));
    let current = this.observed;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!current || current.record.holderIdentity !== this.identity) return;
      const now = toMicroTime(this.wallNow());
      const record: LeaderElectionRecord = {
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: current.record.leaseTransitions,
      };
      try {
        this.setObserved(await this.lock.update(current, record, signal));
        this.log.info('leader election: released the lease', { lease: this.lock.describe() });
        return;
      } catch (err) {
        let failure: unknown = err;
        if (attempt === 0 && err instanceof LeaseConflictError) {
          try {
            current = await this.lock.get(signal);
            continue;
          } catch (readErr) {
            failure = readErr;
          }
        }
        this.log.warn('leader election: could not release the lease; it will expire', { err: failure });
        return;
      }
    }
  }

  /** One attempt; true when this candidate holds the lease afterwards. Throws on transport errors. */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const nowIso = toMicroTime(this.wallNow());
    const leaseDurationSeconds = this.leaseDurationMs / 1000;

    // Fast path (as client-go): the leader renews from its cached record without reading first.
    if (this.leading && this.observed?.record.holderIdentity === this.identity) {
      try {
        const renewed = { ...this.observed.record, leaseDurationSeconds, renewTime: nowIso };
        this.setObserved(await this.lock.update(this.observed, renewed, signal));
        return true;
      } catch (err) {
        if (!(err instanceof LeaseConflictError)) throw err;
      }
    }

    const current = await this.lock.get(signal);
    if (!current) {
      try {
        const created = await this.lock.create(
          { holderIdentity: this.identity, leaseDurationSeconds, acquireTime: nowIso, renewTime: nowIso, leaseTransitions: 0 },
          signal,
        );
        this.setObserved(created);
        return true;
      } catch (err) {
        if (err instanceof LeaseConflictError) return false;
        throw err;
      }
    }
    if (!this.observed || !sameRecord(this.observed.record, current.record)) this.setObserved(current);
    else this.observed = current; // same record, maybe a newer resourceVersion

    const holder = current.record.holderIdentity;
    if (holder && holder !== this.identity && this.observedAt + current.record.leaseDurationSeconds * 1000 > this.now()) {
      return false;
    }
    const record: LeaderElectionRecord =
      holder === this.identity
        ? { ...current.record, leaseDurationSeconds, renewTime: nowIso }
        : {
            holderIdentity: this.identity,
            leaseDurationSeconds,
            acquireTime: nowIso,
            renewTime: nowIso,
            leaseTransitions: current.record.leaseTransitions + 1,
          };
    try {
      this.setObserved(await this.lock.update(current, record, signal));
      return true;
    } catch (err) {
      if (err instanceof LeaseConflictError) return false;
      throw err;
    }
  }

  private setObserved(lease: ObservedLease): void {
    this.observed = lease;
    this.observedAt = this.now();
    const holder = lease.record.holderIdentity;
    if (holder && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      try {
        this.callbacks.onNewLeader?.(holder);
      } catch (err) {
        this.log.warn('leader election: onNewLeader failed', { err });
      }
    }
  }
}

function sameRecord(a: LeaderElectionRecord, b: LeaderElectionRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions
  );
}

function validate(identity: string, lease: number, renew: number, retry: number): void {
  if (!identity) throw new Error('leader election: identity must not be empty');
  if (!Number.isInteger(lease / 1000) || lease < 1000) throw new Error('leader election: leaseDurationMs must be whole seconds, at least 1000');
  if (renew <= 0 || retry <= 0) throw new Error('leader election: renewDeadlineMs and retryPeriodMs must be positive');
  if (lease <= renew) throw new Error('leader election: leaseDurationMs must be greater than renewDeadlineMs');
  if (renew <= JITTER_FACTOR * retry) throw new Error(`leader election: renewDeadlineMs must be greater than ${JITTER_FACTOR} × retryPeriodMs`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Resolves after `ms`, or at once when `signal` aborts. Never rejects. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
