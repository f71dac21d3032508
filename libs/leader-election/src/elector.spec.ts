import { describe, expect, it } from '@jest/globals';
import { LeaderElector, LeaseConflictError, toMicroTime, type LeaseClient, type ObservedLease } from './index.js';

const lock: LeaseClient = {
  describe: () => 'ns/x',
  get: () => Promise.resolve(null),
  create: () => Promise.reject(new Error('unused')),
  update: () => Promise.reject(new Error('unused')),
};
const make = (o: { leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number; identity?: string }) =>
  new LeaderElector({ lock, identity: 'me', callbacks: { onStartedLeading: () => undefined }, ...o });

describe('LeaderElector options', () => {
  it("validates timings like client-go (lease > renew > 1.2 × retry, whole-second lease)", () => {
    expect(() => make({})).not.toThrow();
    expect(() => make({ identity: '' })).toThrow(/identity/);
    expect(() => make({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(/greater than renewDeadlineMs/);
    expect(() => make({ renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(/1.2/);
    expect(() => make({ leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 100 })).toThrow(/whole seconds/);
  });
  it('is not leader before run()', () => {
    const e = make({});
    expect(e.isLeader()).toBe(false);
    expect(e.leader()).toBe('');
  });
});

describe('toMicroTime', () => {
  it('writes the MicroTime format the API server parses (six fractional digits)', () => {
    expect(toMicroTime(Date.UTC(2025, 0, 2, 3, 4, 5, 67))).toBe('2025-01-02T03:04:05.067000Z');
  });
});

/** A lease store with the API server's optimistic concurrency (resourceVersion), in memory. */
class MemoryLease implements LeaseClient {
  stored: ObservedLease | null = null;
  private version = 0;
  describe = () => 'memory/lease';
  get = async () => this.stored;
  create = async (record: ObservedLease['record']) => {
    if (this.stored) throw new LeaseConflictError('exists');
    return (this.stored = { resourceVersion: String(++this.version), record });
  };
  update = async (current: ObservedLease, record: ObservedLease['record']) => {
    if (!this.stored || this.stored.resourceVersion !== current.resourceVersion) throw new LeaseConflictError('conflict');
    return (this.stored = { resourceVersion: String(++this.version), record });
  };
  /** A write the elector never saw the answer to (a renewal cut short after the server applied it). */
  bumpUnseen() {
    this.stored = { resourceVersion: String(++this.version), record: { ...this.stored!.record } };
  }
}

/** An elector on `lease` with short timings, once it leads (or after a bounded wait). */
async function leading(lease: MemoryLease) {
  const elector = new LeaderElector({
    lock: lease,
    identity: 'me',
    leaseDurationMs: 1000,
    renewDeadlineMs: 600,
    retryPeriodMs: 200,
    callbacks: { onStartedLeading: () => undefined },
  });
  const ac = new AbortController();
  const done = elector.run(ac.signal);
  for (let i = 0; i < 100 && !elector.isLeader(); i++) await new Promise((r) => setTimeout(r, 10));
  return {
    elector,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

describe('LeaderElector release', () => {
  it('releases even when its last renewal was applied but its answer was lost', async () => {
    const lease = new MemoryLease();
    const { elector, stop } = await leading(lease);
    expect(elector.isLeader()).toBe(true);
    lease.bumpUnseen();
    await stop();
    expect(lease.stored?.record.holderIdentity).toBe('');
  });

  it('does not release a lease another candidate took meanwhile', async () => {
    const lease = new MemoryLease();
    const { elector, stop } = await leading(lease);
    expect(elector.isLeader()).toBe(true);
    lease.stored = { resourceVersion: 'other-1', record: { ...lease.stored!.record, holderIdentity: 'other' } };
    await stop();
    expect(lease.stored.record.holderIdentity).toBe('other');
  });
});
