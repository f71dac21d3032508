// LeaderElector against the real kube-apiserver (tools/test-servers/kube-apiserver.sh start).
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { LeaderElector, type LeaseClient } from '../src/index.js';
import { deleteLease, FaultyLeaseClient, leaseClient, sleep, stopAllWatches, uniqueLeaseName, waitFor, watchLease, type Fault } from './harness.js';

const L = 2000;
const TIMING = { leaseDurationMs: L, renewDeadlineMs: 1500, retryPeriodMs: 300 };
const R = TIMING.retryPeriodMs;
const leases: string[] = [];

// Every candidate a test started is stopped after it, even when an assertion failed midway, so
// that no elector keeps renewing (and Jest exits).
const running = new Set<() => Promise<void>>();
afterEach(async () => {
  stopAllWatches();
  await Promise.all([...running].map((stop) => stop().catch(() => undefined)));
  running.clear();
});

afterAll(async () => {
  for (const name of leases) await deleteLease(name).catch(() => undefined);
});

interface Interval {
  id: string;
  start: number;
  end?: number;
}

/** One candidate: an elector plus a log of when it believed it led. */
function candidate(id: string, lock: LeaseClient, intervals: Interval[], releaseOnCancel = true) {
  const ac = new AbortController();
  const newLeaders: string[] = [];
  let stopped = 0;
  const elector = new LeaderElector({
    lock,
    identity: id,
    ...TIMING,
    releaseOnCancel,
    callbacks: {
      onStartedLeading(signal) {
        const interval: Interval = { id, start: performance.now() };
        intervals.push(interval);
        signal.addEventListener('abort', () => (interval.end = performance.now()), { once: true });
      },
      onStoppedLeading: () => void stopped++,
      onNewLeader: (leader) => void newLeaders.push(leader),
    },
  });
  const done = elector.run(ac.signal);
  const stop = async () => {
    running.delete(stop);
    ac.abort();
    await done;
  };
  running.add(stop);
  return {
    elector,
    newLeaders,
    done,
    stoppedCount: () => stopped,
    stop,
  };
}

function newLease(prefix: string): string {
  const name = uniqueLeaseName(prefix);
  leases.push(name);
  return name;
}

describe('LeaderElector on a coordination.k8s.io/v1 Lease', () => {
  it('acquires a new lease, then renews it keeping acquireTime', async () => {
    const name = newLease('acquire');
    const lock = leaseClient(name);
    const intervals: Interval[] = [];
    const a = candidate('a', lock, intervals);
    await waitFor('a to lead', 3000, () => a.elector.isLeader());
    const first = (await lock.get(AbortSignal.timeout(2000)))!;
    expect(first.record).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 2, leaseTransitions: 0 });
    expect(first.record.acquireTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await sleep(4 * R);
    const later = (await lock.get(AbortSignal.timeout(2000)))!;
    expect(later.record.holderIdentity).toBe('a');
    expect(later.record.acquireTime).toBe(first.record.acquireTime);
    expect(Date.parse(later.record.renewTime!)).toBeGreaterThan(Date.parse(first.record.renewTime!));
    expect(a.newLeaders).toEqual(['a']);
    await a.stop();
    expect(a.stoppedCount()).toBe(1);
    expect(intervals[0]!.end).toBeDefined();
  });

  it('releases the lease on stop, so a standby takes over at its next retry', async () => {
    const name = newLease('release');
    const intervals: Interval[] = [];
    const a = candidate('a', leaseClient(name), intervals);
    await waitFor('a to lead', 3000, () => a.elector.isLeader());
    const b = candidate('b', leaseClient(name), intervals);
    await sleep(2 * R);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.newLeaders).toEqual(['a']);

    const stoppedAt = performance.now();
    await a.stop();
    await waitFor('b to lead', L + 2 * R, () => b.elector.isLeader());
    const takeover = performance.now() - stoppedAt;
    // Without the release, b could not lead before the lease expired: at least L - R after a's
    // last renewal. Usually one retry period; the margin absorbs a loaded API server.
    expect(takeover).toBeLessThan(L - R);
    const lease = (await leaseClient(name).get(AbortSignal.timeout(2000)))!;
    expect(lease.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(intervals[0]!.end!).toBeLessThanOrEqual(intervals[1]!.start);
    await b.stop();
  });

  it('takes over from a holder that died without releasing, within leaseDuration + retryPeriod', async () => {
    const name = newLease('takeover');
    const watch = await watchLease(name);
    const intervals: Interval[] = [];
    const a = candidate('a', leaseClient(name), intervals, false);
    await waitFor('a to lead', 3000, () => a.elector.isLeader());
    const b = candidate('b', leaseClient(name), intervals);
    await sleep(1000);

    const diedAt = performance.now();
    await a.stop(); // releaseOnCancel=false: from the lease's point of view, the holder died
    await waitFor('b to lead', L + 2 * R + 1000, () => b.elector.isLeader(), 5);
    const takeover = performance.now() - diedAt;
    expect(takeover).toBeLessThanOrEqual(L + R + 100);
    expect(takeover).toBeGreaterThan(L - 2 * R);

    // Server-side: b acquired no earlier than leaseDuration after a's last renewal.
    await sleep(200);
    watch.stop();
    const lastOfA = watch.history.filter((v) => v.record.holderIdentity === 'a').at(-1)!;
    const firstOfB = watch.history.find((v) => v.record.holderIdentity === 'b')!;
    expect(Date.parse(firstOfB.record.acquireTime!) - Date.parse(lastOfA.record.renewTime!)).toBeGreaterThanOrEqual(L);
    expect(firstOfB.record.leaseTransitions).toBe(lastOfA.record.leaseTransitions + 1);
    await b.stop();
  });

  it('steps down within renewDeadline when it cannot renew, before anyone else may lead', async () => {
    const name = newLease('stepdown');
    const intervals: Interval[] = [];
    const lockA = new FaultyLeaseClient(leaseClient(name));
    const a = candidate('a', lockA, intervals);
    await waitFor('a to lead', 3000, () => a.elector.isLeader());
    const b = candidate('b', leaseClient(name), intervals);
    await sleep(1000);

    const cutAt = performance.now();
    lockA.fault = 'drop-request';
    await a.done; // run() returns once leadership is lost
    expect(intervals[0]!.end! - cutAt).toBeLessThanOrEqual(TIMING.renewDeadlineMs + 50);
    await waitFor('b to lead', L + 2 * R + 1000, () => b.elector.isLeader(), 5);
    expect(intervals[1]!.id).toBe('b');
    expect(intervals[1]!.start - intervals[0]!.end!).toBeGreaterThan(0);
    await b.stop();
  });

  it('never lets two candidates lead at once under faults, kills and restarts (3 electors, API-side history)', async () => {
    const name = newLease('property');
    const watch = await watchLease(name);
    const intervals: Interval[] = [];
    const ids = ['e1', 'e2', 'e3'];
    const locks = new Map(ids.map((id) => [id, new FaultyLeaseClient(leaseClient(name))]));
    const running = new Map<string, ReturnType<typeof candidate> | undefined>();
    // A process restarts only after the previous one is gone (same identity, new instance).
    const stopping = new Map<string, Promise<void>>();
    const start = (id: string) => {
      if (stopping.has(id)) return;
      const c = candidate(id, locks.get(id)!, intervals, Math.random() < 0.5);
      running.set(id, c);
      // A candidate that lost leadership stands again after a pause, as a restarted process would.
      void c.done.then(() => {
        if (running.get(id) === c) running.set(id, undefined);
      });
    };
    ids.forEach(start);

    const faults: Fault[] = ['none', 'none', 'drop-request', 'drop-response', 'delay'];
    // At least 25 s of chaos, longer (bounded) until leadership has changed hands a few times:
    // on a loaded machine fewer actions land in the same time.
    const until = performance.now() + 25_000;
    const hardUntil = performance.now() + 75_000;
    let actions = 0;
    // Handed over between different candidates, not only lost and regained by one.
    const changedHands = () => intervals.length >= 4 && new Set(intervals.map((i) => i.id)).size >= 2;
    while (performance.now() < until || (!changedHands() && performance.now() < hardUntil)) {
      await sleep(200 + Math.random() * 500);
      const id = ids[Math.floor(Math.random() * ids.length)]!;
      const c = running.get(id);
      const roll = Math.random();
      if (!c) start(id);
      else if (roll < 0.5) locks.get(id)!.fault = faults[Math.floor(Math.random() * faults.length)]!;
      else if (roll < 0.7) {
        running.set(id, undefined);
        const stopped = c.stop(); // graceful or "killed", as drawn when it started
        stopping.set(id, stopped);
        void stopped.then(() => stopping.delete(id));
      } else locks.get(id)!.fault = 'none';
      actions++;
    }
    for (const id of ids) locks.get(id)!.fault = 'none';
    await Promise.all([...running.values()].map((c) => c?.stop()));
    await Promise.all(stopping.values());
    await sleep(300);
    watch.stop();

    // 1. The chaos did change leaders.
    expect(actions).toBeGreaterThan(30);
    expect(intervals.length).toBeGreaterThanOrEqual(4);
    expect(new Set(intervals.map((i) => i.id)).size).toBeGreaterThanOrEqual(2);
    // 2. In-process view, one clock: no two leadership intervals overlap.
    const sorted = [...intervals].sort((x, y) => x.start - y.start);
    for (let i = 1; i < sorted.length; i++) {
      expect(sorted[i - 1]!.end).toBeDefined();
      expect(sorted[i]!.start).toBeGreaterThanOrEqual(sorted[i - 1]!.end!);
    }
    // 3. API-side view: a holder is replaced only after a release, or leaseDuration after its last
    //    renewal; leaseTransitions never goes back.
    const h = watch.history;
    expect(h.length).toBeGreaterThan(10);
    for (let i = 1; i < h.length; i++) {
      const prev = h[i - 1]!.record;
      const cur = h[i]!.record;
      expect(cur.leaseTransitions).toBeGreaterThanOrEqual(prev.leaseTransitions);
      if (prev.holderIdentity && cur.holderIdentity && cur.holderIdentity !== prev.holderIdentity) {
        expect(Date.parse(cur.acquireTime!) - Date.parse(prev.renewTime!)).toBeGreaterThanOrEqual(L);
        expect(cur.leaseTransitions).toBe(prev.leaseTransitions + 1);
      }
    }
    // 4. Every candidate that believed it led is a holder the API server recorded.
    const holders = new Set(h.map((v) => v.record.holderIdentity));
    for (const i of intervals) expect(holders.has(i.id)).toBe(true);
  }, 120_000);
});
