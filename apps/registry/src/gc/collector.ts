// Online mark-and-sweep garbage collection: the registry keeps serving pulls and pushes while it
// runs (distribution's collector needs the registry read-only; the original kuik switched it to
// read-only and sometimes left it there).
//
//   recover     put back whatever an interrupted run left in quarantine (this run decides anew).
//   mark        walk every repository once (revision, tag and layer links, with their times) and
//               keep, per repository, the closure of its roots: every revision (or, with
//               deleteUntagged, the tagged ones), index children, configs and layers, and
//               referrers of kept manifests.
//   candidates  blobs not marked and older than the grace period; with deleteUntagged, untagged
//               revisions older than the grace period.
//   quarantine  move candidate blob data aside and remove the candidate revision links.
//   settle      wait, so that manifest PUTs that checked before the quarantine have committed.
//   re-check    walk the repositories again, mark from everything written since the run began
//               (minus the grace) plus what the first pass kept; put back what that marks.
//   delete      the rest of the quarantine. Layer links to it stay, as distribution leaves them:
//               a link counts only with the data beside it, and removing one could race with a
//               push re-linking the blob that instant.
//
// Why nothing a push refers to is deleted:
//   - a push in progress writes blobs first and its manifest last; everything it wrote is younger
//     than the grace period (which must exceed the longest push; 1 h by default) and so is never
//     a candidate;
//   - a push that reuses an old blob without writing it (upload of a blob that exists, mount,
//     or just a HEAD) checks for the blob when its manifest is PUT, writes the revision link,
//     and then checks again (ManifestStore.commitRevision), putting back from quarantine what
//     it finds there. If the second check sees every reference, the link was written before
//     any later quarantine, so before this run's re-check, which sees the fresh link and keeps
//     what it references. If a reference is gone for good, the PUT takes its link back and
//     fails cleanly (MANIFEST_BLOB_UNKNOWN; an upload after the quarantine finds no blob and
//     stores the bytes anew). So no timing assumption is needed for safety: the settle time only
//     makes the second case rare. Index children (revision links) are handled the same way.
// The price: during the settle time a manifest committed in that window may briefly 404 on a
// blob that is being put back, and candidate data is moved once (a rename on filesystems, a
// server-side copy on object stores). A run that dies mid-way leaves the quarantine to the next
// run, which restores it first.
import { manifestReferences, parseManifest, type Digest } from '@kuik/oci';
import type { Logger } from '@kuik/observability';
import type { FileInfo, StorageDriver } from '@kuik/storage';
import type { Stores } from '../store/backend.js';
import { layout } from '../store/layout.js';
import { orIfMissing, readLink, writeLink } from '../store/storage-util.js';

export interface CollectOptions {
  dryRun: boolean;
  deleteUntagged: boolean;
  /** Blobs, links and revisions younger than this are never candidates. */
  gracePeriodMs: number;
  /** Wait between quarantine and re-check, so that PUTs already past their checks commit first. */
  settleMs: number;
  /** Manifests are read back with this bound. */
  manifestMaxBytes: number;
  /** Checked before every batch of deletions; false stops the run (lease lost). */
  mayDelete: () => boolean;
  logger: Logger;
  signal?: AbortSignal;
  /** Reports progress: phase changes and counts (for metrics). */
  onProgress?: (stats: GcStats) => void;
}

export interface GcStats {
  dryRun: boolean;
  phase: 'recover' | 'mark' | 'sweep' | 'quarantine' | 'recheck' | 'delete' | 'done';
  repositories: number;
  manifestsScanned: number;
  manifestsMarked: number;
  blobsScanned: number;
  blobsMarked: number;
  /** Unmarked but younger than the grace period. */
  blobsYoung: number;
  /** Candidates the re-check found referenced after all. */
  blobsRescued: number;
  /** Blobs an interrupted earlier run had left in quarantine, put back. */
  blobsRecovered: number;
  blobsSwept: number;
  bytesFreed: number;
  manifestsDeleted: number;
  durationMs: number;
}

/** What the repositories walk found in one repository. */
interface RepoScan {
  /** Revision digest → modification time (ms). */
  revisions: Map<Digest, number>;
  /** Tag → modification time of its current link. */
  tags: Map<string, number>;
  /** Layer link digest → modification time. */
  layers: Map<Digest, number>;
}

interface ManifestInfo {
  blobs: Digest[];
  children: Digest[];
  subject?: Digest;
}

const DELETE_CONCURRENCY = 8;
const READ_CONCURRENCY = 16;
const PROGRESS_EVERY = 10_000;

export async function collectGarbage(driver: StorageDriver, stores: Stores, options: CollectOptions): Promise<GcStats> {
  const started = performance.now();
  const startedAt = Date.now();
  const cutoff = startedAt - options.gracePeriodMs;
  const { logger, signal } = options;
  const stats: GcStats = {
    dryRun: options.dryRun,
    phase: 'mark',
    repositories: 0,
    manifestsScanned: 0,
    manifestsMarked: 0,
    blobsScanned: 0,
    blobsMarked: 0,
    blobsYoung: 0,
    blobsRescued: 0,
    blobsRecovered: 0,
    blobsSwept: 0,
    bytesFreed: 0,
    manifestsDeleted: 0,
    durationMs: 0,
  };
  const progress = (phase: GcStats['phase']) => {
    stats.phase = phase;
    stats.durationMs = Math.round(performance.now() - started);
    options.onProgress?.({ ...stats });
  };
  const infos = new Map<Digest, ManifestInfo | null>();
  const loadInfo = async (digest: Digest): Promise<ManifestInfo | null> => {
    if (infos.has(digest)) return infos.get(digest)!;
    // A manifest committed during the run may have its content in this run's quarantine.
    const content =
      (await stores.blobs.getSmall(digest, options.manifestMaxBytes, { signal })) ??
      (await orIfMissing(() => driver.getContent(layout.gcQuarantine(digest), { signal, maxBytes: options.manifestMaxBytes }), null));
    let info: ManifestInfo | null = null;
    if (content) {
      try {
        const parsed = parseManifest(content);
        const refs = manifestReferences(parsed);
        info = { blobs: refs.blobs.map((d) => d.digest), children: refs.manifests.map((d) => d.digest), subject: parsed.subject?.digest };
      } catch {
        // Not a manifest we can read: keep it (marked as a root) but follow nothing.
        info = { blobs: [], children: [] };
      }
    }
    infos.set(digest, info);
    return info;
  };

  // ---- recover
  progress('recover');
  stats.blobsRecovered = await restoreQuarantine(driver, signal);
  progress('mark');

  // ---- mark
  logger.info('garbage collection: mark', { dryRun: options.dryRun, deleteUntagged: options.deleteUntagged, gracePeriodMs: options.gracePeriodMs });
  const scan = await scanRepositories(driver, signal);
  stats.repositories = scan.size;
  const marked = new Set<Digest>();
  /** Per repository, the revisions kept (only needed with deleteUntagged). */
  const keptRevisions = new Map<string, Set<Digest>>();
  for (const [repo, r] of scan) {
    stats.manifestsScanned += r.revisions.size;
    const roots: Digest[] = [];
    if (options.deleteUntagged) {
      roots.push(...(await tagTargets(driver, repo, [...r.tags.keys()], signal)));
      for (const [d, mtime] of r.revisions) if (mtime >= cutoff) roots.push(d);
    } else {
      roots.push(...r.revisions.keys());
    }
    const kept = await closure(roots, r, loadInfo, options.deleteUntagged);
    keptRevisions.set(repo, kept);
    for (const d of kept) markManifest(d, infos.get(d) ?? null, marked);
    for (const [d, mtime] of r.layers) if (mtime >= cutoff) marked.add(d);
  }
  stats.manifestsMarked = [...keptRevisions.values()].reduce((n, s) => n + s.size, 0);
  progress('sweep');

  // ---- sweep: candidates
  const candidates = new Map<Digest, number>();
  for await (const file of driver.walk(layout.blobsRoot, { signal })) {
    const digest = blobDigestOf(file.path);
    if (!digest) continue;
    stats.blobsScanned++;
    if (stats.blobsScanned % PROGRESS_EVERY === 0) logger.info('garbage collection: sweep progress', { blobsScanned: stats.blobsScanned });
    if (marked.has(digest)) stats.blobsMarked++;
    else if (file.modTime.getTime() >= cutoff) stats.blobsYoung++;
    else candidates.set(digest, file.size);
  }
  const untagged: Array<{ repo: string; digest: Digest }> = [];
  if (options.deleteUntagged) {
    for (const [repo, r] of scan) {
      const kept = keptRevisions.get(repo)!;
      for (const [d, mtime] of r.revisions) if (!kept.has(d) && mtime < cutoff) untagged.push({ repo, digest: d });
    }
  }
  const bytesCandidate = [...candidates.values()].reduce((x, y) => x + y, 0);
  if (options.dryRun) {
    logger.info('garbage collection (dry run): would delete', {
      blobs: candidates.size,
      bytes: bytesCandidate,
      untaggedManifests: untagged.length,
      sample: [...candidates.keys()].slice(0, 20),
    });
    stats.blobsSwept = candidates.size;
    stats.bytesFreed = bytesCandidate;
    stats.manifestsDeleted = untagged.length;
    progress('done');
    return stats;
  }

  // ---- quarantine
  progress('quarantine');
  const quarantined = new Map<Digest, number>();
  await inBatches([...candidates], options, async ([digest, size]) => {
    const moved = await orIfMissing(async () => (await driver.move(layout.blobData(digest), layout.gcQuarantine(digest), { signal }), true), false);
    if (moved) quarantined.set(digest, size);
  });
  const removedRevisions: Array<{ repo: string; digest: Digest }> = [];
  await inBatches(untagged, options, async ({ repo, digest }) => {
    const subject = infos.get(digest)?.subject;
    if (subject) await stores.referrers.remove(repo, subject, digest, { signal });
    if (await orIfMissing(async () => (await driver.delete(layout.revisionDir(repo, digest), { signal }), true), false)) removedRevisions.push({ repo, digest });
  });

  // ---- settle, then re-check: what was written since the run began (minus the grace) is referenced.
  await sleep(options.settleMs, signal);
  progress('recheck');
  const rescan = await scanRepositories(driver, signal);
  const rescued = new Set<Digest>();
  const keptAfter = new Map<string, Set<Digest>>();
  for (const [repo, r] of rescan) {
    const roots: Digest[] = [];
    for (const [d, mtime] of r.revisions) if (mtime >= cutoff) roots.push(d);
    const movedTags = [...r.tags].filter(([, mtime]) => mtime >= cutoff).map(([t]) => t);
    roots.push(...(await tagTargets(driver, repo, movedTags, signal)));
    // Revisions kept by the first pass are roots again: a fresh referrer or child may hang off them.
    const kept = await closure([...roots, ...(keptRevisions.get(repo) ?? [])], r, loadInfo, options.deleteUntagged);
    keptAfter.set(repo, kept);
    for (const d of kept) markManifest(d, infos.get(d) ?? null, rescued);
    for (const [d, mtime] of r.layers) if (mtime >= cutoff) rescued.add(d);
  }
  for (const { repo, digest } of removedRevisions) {
    if (!keptAfter.get(repo)?.has(digest)) {
      stats.manifestsDeleted++;
      continue;
    }
    await writeLink(driver, layout.revisionLink(repo, digest), digest, { signal });
    const subject = infos.get(digest)?.subject;
    if (subject) await stores.referrers.add(repo, subject, digest, { signal });
  }
  for (const d of rescued) {
    if (!quarantined.has(d)) continue;
    await restoreOne(driver, d, signal);
    quarantined.delete(d);
    stats.blobsRescued++;
  }

  // ---- delete
  progress('delete');
  await inBatches([...quarantined], options, async ([digest, size]) => {
    if (await orIfMissing(async () => (await driver.delete(layout.gcQuarantine(digest), { signal }), true), false)) {
      stats.blobsSwept++;
      stats.bytesFreed += size;
    }
  });
  progress('done');
  return stats;
}

/** Marks a kept manifest and what it references directly. */
function markManifest(digest: Digest, info: ManifestInfo | null, into: Set<Digest>): void {
  into.add(digest);
  if (!info) return;
  for (const b of info.blobs) into.add(b);
  for (const c of info.children) into.add(c);
}

/**
 * The revisions of a repository kept from the roots: index children, and (with deleteUntagged,
 * where not every revision is a root) referrers of kept manifests, until nothing changes.
 */
async function closure(
  roots: Digest[],
  scan: RepoScan,
  loadInfo: (d: Digest) => Promise<ManifestInfo | null>,
  referrersMatter: boolean,
): Promise<Set<Digest>> {
  const kept = new Set<Digest>();
  let queue = [...new Set(roots)];
  // Bounded: every round adds at least one revision, and there are finitely many.
  for (let round = 0; queue.length > 0 && round <= scan.revisions.size + 1; round++) {
    while (queue.length > 0) {
      const batch = queue.splice(0, READ_CONCURRENCY).filter((d) => !kept.has(d));
      for (const d of batch) kept.add(d);
      const infos = await Promise.all(batch.map(loadInfo));
      for (const info of infos) for (const c of info?.children ?? []) if (!kept.has(c)) queue.push(c);
    }
    if (!referrersMatter) break;
    const rest = [...scan.revisions.keys()].filter((d) => !kept.has(d));
    const infos = await Promise.all(rest.map(loadInfo));
    queue = rest.filter((_d, i) => {
      const s = infos[i]?.subject;
      return s !== undefined && kept.has(s);
    });
  }
  return kept;
}

async function tagTargets(driver: StorageDriver, repo: string, tags: string[], signal?: AbortSignal): Promise<Digest[]> {
  const out: Digest[] = [];
  for (let i = 0; i < tags.length; i += READ_CONCURRENCY) {
    const batch = tags.slice(i, i + READ_CONCURRENCY);
    const targets = await Promise.all(batch.map((t) => readLink(driver, layout.tagCurrentLink(repo, t), { signal })));
    for (const d of targets) if (d) out.push(d);
  }
  return out;
}

/**
 * One walk of the repositories tree (a few list calls per thousand links on object stores),
 * classified by the layout's shapes: <name>/_layers/<alg>/<hex>/link,
 * <name>/_manifests/revisions/<alg>/<hex>/link, <name>/_manifests/tags/<tag>/current/link.
 */
async function scanRepositories(driver: StorageDriver, signal?: AbortSignal): Promise<Map<string, RepoScan>> {
  const repos = new Map<string, RepoScan>();
  const prefix = `${layout.repositoriesRoot}/`;
  for await (const file of driver.walk(layout.repositoriesRoot, { signal })) {
    const entry = classify(file, prefix);
    if (!entry) continue;
    let r = repos.get(entry.repo);
    if (!r) repos.set(entry.repo, (r = { revisions: new Map(), tags: new Map(), layers: new Map() }));
    const mtime = file.modTime.getTime();
    if (entry.kind === 'tag') r.tags.set(entry.tag, mtime);
    else if (entry.kind === 'layer') r.layers.set(entry.digest, mtime);
    else r.revisions.set(entry.digest, mtime);
  }
  return repos;
}

type Entry = { repo: string; kind: 'layer' | 'revision'; digest: Digest } | { repo: string; kind: 'tag'; tag: string };

function classify(file: FileInfo, prefix: string): Entry | null {
  if (!file.path.startsWith(prefix) || !file.path.endsWith('/link')) return null;
  const segs = file.path.slice(prefix.length).split('/');
  const at = segs.findIndex((s) => s.startsWith('_'));
  if (at <= 0) return null;
  const repo = segs.slice(0, at).join('/');
  const rest = segs.slice(at);
  if (rest[0] === '_layers' && rest.length === 4) {
    const digest = layout.digestFrom(rest[1]!, rest[2]!);
    return digest ? { repo, kind: 'layer', digest } : null;
  }
  if (rest[0] === '_manifests' && rest[1] === 'revisions' && rest.length === 5) {
    const digest = layout.digestFrom(rest[2]!, rest[3]!);
    return digest ? { repo, kind: 'revision', digest } : null;
  }
  if (rest[0] === '_manifests' && rest[1] === 'tags' && rest[3] === 'current' && rest.length === 5) return { repo, kind: 'tag', tag: rest[2]! };
  return null;
}

/** "<blobsRoot>/<alg>/<xx>/<hex>/data" → digest. */
function blobDigestOf(path: string): Digest | null {
  const segs = path.slice(layout.blobsRoot.length + 1).split('/');
  if (segs.length !== 4 || segs[3] !== 'data') return null;
  return layout.digestFrom(segs[0]!, segs[2]!);
}

/** Runs deletions a few at a time, stopping as soon as the lease is no longer held. */
async function inBatches<T>(items: T[], options: CollectOptions, run: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += DELETE_CONCURRENCY * 8) {
    if (!options.mayDelete()) throw new Error('garbage collection stopped: the lease is no longer held');
    options.signal?.throwIfAborted();
    const batch = items.slice(i, i + DELETE_CONCURRENCY * 8);
    for (let j = 0; j < batch.length; j += DELETE_CONCURRENCY) await Promise.all(batch.slice(j, j + DELETE_CONCURRENCY).map(run));
  }
}

/** Puts back every blob left in quarantine (by an interrupted run); returns how many. */
async function restoreQuarantine(driver: StorageDriver, signal?: AbortSignal): Promise<number> {
  let n = 0;
  const prefix = `${layout.gcQuarantineDir}/`;
  const found: Digest[] = [];
  for await (const file of driver.walk(layout.gcQuarantineDir, { signal })) {
    const [alg, hex, ...rest] = file.path.slice(prefix.length).split('/');
    const digest = rest.length === 0 && alg && hex ? layout.digestFrom(alg, hex) : null;
    if (digest) found.push(digest);
  }
  for (const d of found) {
    await restoreOne(driver, d, signal);
    n++;
  }
  return n;
}

async function restoreOne(driver: StorageDriver, digest: Digest, signal?: AbortSignal): Promise<void> {
  const back = await orIfMissing(async () => (await driver.stat(layout.blobData(digest), { signal }), true), false);
  // Pushed again meanwhile: same bytes (content-addressed), the quarantined copy is redundant.
  if (back) await orIfMissing(() => driver.delete(layout.gcQuarantine(digest), { signal }), undefined);
  else await orIfMissing(() => driver.move(layout.gcQuarantine(digest), layout.blobData(digest), { signal }), undefined);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
