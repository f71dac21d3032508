import { describe, expect, it } from '@jest/globals';
import { LeaderElector, toMicroTime, type LeaseClient } from './index.js';

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
