// Small measuring and asserting helpers for the conformance suite: typed-error expectations,
// open file descriptor counts, resident memory sampling, bounded parallelism.
import { expect } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { isStorageError, type StorageErrorCode } from '../errors.js';
import type { FileInfo, StorageDriver } from '../types.js';

/** Awaits a call that must fail with a StorageError of this code; returns the error. */
export async function expectStorageError(call: Promise<unknown> | (() => Promise<unknown>), code: StorageErrorCode): Promise<Error> {
  let caught: unknown;
  try {
    await (typeof call === 'function' ? call() : call);
  } catch (e) {
    caught = e;
  }
  if (!isStorageError(caught, code)) {
    throw new Error(`expected StorageError(${code}), got ${caught === undefined ? 'success' : describe(caught)}`);
  }
  return caught;
}

/** Awaits a call that must fail because it was aborted. */
export async function expectAborted(call: Promise<unknown> | (() => Promise<unknown>)): Promise<void> {
  let caught: unknown;
  try {
    await (typeof call === 'function' ? call() : call);
  } catch (e) {
    caught = e;
  }
  const e = caught as { name?: string; code?: string } | undefined;
  if (!(e && (e.name === 'AbortError' || e.code === 'ABORT_ERR'))) {
    throw new Error(`expected an AbortError, got ${caught === undefined ? 'success' : describe(caught)}`);
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Open file descriptors of this process (sockets and files alike). Linux /proc only. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Polls until check() holds, or fails with message after timeoutMs. */
export async function eventually(check: () => boolean, message: () => string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Tracks the peak resident set size above a baseline, from a timer and from explicit samples. */
export class RssSampler {
  private readonly baseline = process.memoryUsage.rss();
  private peak = this.baseline;
  private readonly timer = setInterval(() => this.sample(), 10);

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }

  /** Stops sampling; returns the peak growth in bytes. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak - this.baseline;
  }
}

/** A fresh top-level prefix, unique per test, so concurrent runs against one bucket never collide. */
export function uniqueRoot(label: string): string {
  const safe = label.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'x';
  return `/conformance-${safe}-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export async function collect(walk: AsyncIterable<FileInfo>): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for await (const f of walk) out.push(f);
  return out;
}

export async function walkPaths(driver: StorageDriver, path: string, startAfter?: string): Promise<string[]> {
  return (await collect(driver.walk(path, startAfter === undefined ? {} : { startAfter }))).map((f) => f.path);
}

/** Runs fn over items with at most `limit` in flight; rejects with the first failure. */
export async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Deletes a path, treating "already gone" as success. */
export async function deleteIfPresent(driver: StorageDriver, path: string): Promise<void> {
  try {
    await driver.delete(path);
  } catch (e) {
    if (!isStorageError(e, 'PathNotFound')) throw e;
  }
}

/** A Date from any realm (Node's fs and SDKs build theirs outside Jest's sandbox, so no instanceof). */
export function expectDate(d: unknown): void {
  expect(Object.prototype.toString.call(d)).toBe('[object Date]');
  expect(Number.isFinite((d as Date).getTime())).toBe(true);
}

export function expectRecentDate(d: Date): void {
  expectDate(d);
  // Generous: object-store servers' clocks may drift a little from ours.
  expect(Math.abs(d.getTime() - Date.now())).toBeLessThan(10 * 60_000);
}
