// Garbage collection benchmark on the test MinIO: a store of --blobs blobs and --manifests image
// manifests (a --garbage fraction of them deleted, plus as many lone blobs), then
//
//   gc        one collection in this process: duration, storage operations by kind, peak RSS and
//             heap growth, blobs marked and swept (the swept count is checked against the garbage)
//   load      push/pull throughput of one registry process (the bundle) on that store in
//             --load-rounds pairs of --load-seconds windows, without GC then with the `gc`
//             subcommand running back to back; the median ratio with/without (goal ≥ 0.8)
//
//   node --experimental-transform-types --no-warnings --import ./tools/bench/source-hooks.mjs \
//        tools/bench/gc.mjs [--flags]            (after `npx nx build registry`)
//
//   --blobs=100000 --manifests=10000 --garbage=0.1 --concurrency=32 --load-seconds=15 --load-rounds=3
//   --load-concurrency=4 --layer-kib=256 --gc-ratelimit=100 (garbagecollection.ratelimit of the load phase)
// Every figure is printed with the store's actual size. The store lives in a fresh root of the
// bucket kuik-bench-gc and is removed at exit.
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : fallback;
};
const BLOBS = flag('blobs', 100_000);
const MANIFESTS = flag('manifests', 10_000);
const GARBAGE = flag('garbage', 0.1);
const CONCURRENCY = flag('concurrency', 32);
const LOAD_SECONDS = flag('load-seconds', 15);
const LOAD_ROUNDS = flag('load-rounds', 3);
const LOAD_CONCURRENCY = flag('load-concurrency', 4);
const LAYER_KIB = flag('layer-kib', 256);
// The load phase's `main.js gc` runs with this pacing (the registry's default: 100 ops/s; 0 = none).
const GC_RATELIMIT = flag('gc-ratelimit', 100);

const { createDriver } = await import('../../libs/storage/src/factory.js');
await import('../../libs/storage/src/drivers/s3/index.js');
const { requireServer } = await import('../../libs/testing/src/servers.js');
const { layout } = await import('../../apps/registry/src/store/layout.ts');
const { createStores } = await import('../../apps/registry/src/store/backend.ts');
const { collectGarbage } = await import('../../apps/registry/src/gc/collector.ts');
const { createLogger } = await import('../../libs/observability/src/logger.js');

const env = requireServer('minio');
const params = {
  regionendpoint: env.MINIO_ENDPOINT,
  region: env.MINIO_REGION,
  bucket: 'kuik-bench-gc',
  createbucket: true,
  forcepathstyle: true,
  accesskey: env.MINIO_ACCESS_KEY,
  secretkey: env.MINIO_SECRET_KEY,
  rootdirectory: `/bench-${randomUUID()}`,
};
const ops = {};
const driver = await createDriver('s3', params, {
  metrics: { observe: (_d, op) => (ops[op] = (ops[op] ?? 0) + 1), bytes: () => undefined },
});
const sha = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
async function inParallel(items, limit, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (i < items.length) await fn(items[i++]);
  }));
}

// ---- populate: blobs split evenly among manifests (config + layers), 10 repositories.
const perManifest = Math.max(2, Math.floor(BLOBS / MANIFESTS));
const garbageManifests = Math.round(MANIFESTS * GARBAGE);
const loneBlobs = Math.max(0, BLOBS - perManifest * MANIFESTS) + garbageManifests;
process.stderr.write(`populating: ${MANIFESTS} manifests × ${perManifest} blobs, ${garbageManifests} of them garbage, ${loneBlobs} lone blobs…\n`);
const t0 = process.hrtime.bigint();
const manifestsWork = Array.from({ length: MANIFESTS }, (_, i) => i);
let garbageBlobs = 0;
await inParallel(manifestsWork, Math.ceil(CONCURRENCY / perManifest) + 1, async (i) => {
  const repo = `bench/r${i % 10}`;
  const blobs = Array.from({ length: perManifest }, () => randomBytes(200));
  const digests = blobs.map(sha);
  await inParallel(blobs.map((b, j) => [b, digests[j]]), perManifest, async ([b, d]) => {
    await driver.putContent(layout.blobData(d), b);
    await driver.putContent(layout.layerLink(repo, d), Buffer.from(d));
  });
  const doc = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digests[0], size: 200 },
    layers: digests.slice(1).map((d) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d, size: 200 })),
  }));
  const md = sha(doc);
  await driver.putContent(layout.blobData(md), doc);
  if (i < garbageManifests) {
    garbageBlobs += perManifest + 1; // deleted: its manifest and blobs are garbage
    return;
  }
  await driver.putContent(layout.revisionLink(repo, md), Buffer.from(md));
  await driver.putContent(layout.tagCurrentLink(repo, `t${i}`), Buffer.from(md));
});
await inParallel(Array.from({ length: loneBlobs }, (_, i) => i), CONCURRENCY, async () => {
  const b = randomBytes(100);
  await driver.putContent(layout.blobData(sha(b)), b);
});
garbageBlobs += loneBlobs;
const totalBlobs = MANIFESTS * (perManifest + 1) + loneBlobs;
process.stderr.write(`populated in ${seconds(t0).toFixed(1)} s: ${totalBlobs} blobs (manifests included), ${garbageBlobs} garbage\n`);
await new Promise((r) => setTimeout(r, 1200));

// ---- gc, in this process
for (const k of Object.keys(ops)) delete ops[k];
const logger = createLogger({ component: 'bench', level: 'warn' });
const stores = createStores(driver, { manifestMaxBytes: 4 << 20, deleteEnabled: true, redirects: false, readOnly: false });
let peakRss = process.memoryUsage().rss;
const heapBefore = process.memoryUsage().heapUsed;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const g0 = process.hrtime.bigint();
const stats = await collectGarbage(driver, stores, {
  dryRun: false, deleteUntagged: false, gracePeriodMs: 1000, settleMs: 0, manifestMaxBytes: 16 << 20, mayDelete: () => true, logger,
});
const gcSeconds = seconds(g0);
clearInterval(sampler);
const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
console.log(`store: ${totalBlobs} blobs, ${MANIFESTS} manifests (${garbageManifests} deleted), ${garbageBlobs} garbage blobs`);
console.log(`gc: ${gcSeconds.toFixed(1)} s; marked ${stats.blobsMarked}, swept ${stats.blobsSwept} (expected ${garbageBlobs}), ${stats.bytesFreed} bytes freed`);
console.log(`gc storage operations: ${JSON.stringify(ops)} (total ${Object.values(ops).reduce((a, b) => a + b, 0)})`);
console.log(`gc memory: peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB, heap growth ${(heapGrowth / 2 ** 20).toFixed(0)} MiB`);
if (stats.blobsSwept !== garbageBlobs) console.log('WARNING: swept count differs from the garbage count');

// ---- load: push/pull throughput with and without GC running
const dir = mkdtempSync(path.join(tmpdir(), 'kuik-bench-gc-'));
const configFile = path.join(dir, 'config.yml');
writeFileSync(configFile, JSON.stringify({
  version: '0.1',
  log: { level: 'warn', accesslog: { disabled: true } },
  http: { addr: '127.0.0.1:0', debug: { addr: '' } },
  storage: { s3: params, redirect: { disable: true }, maintenance: { uploadpurging: { enabled: false } } },
  garbagecollection: { enabled: false, graceperiod: '1s', settle: '1s', ratelimit: GC_RATELIMIT },
}));
const bundle = path.join(root, 'dist/apps/registry/main.js');
readFileSync(bundle); // fails early when not built
const registry = spawn(process.execPath, [bundle, '--config', configFile], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, REGISTRY_LOG_LEVEL: 'info' } });
const url = await new Promise((resolve, reject) => {
  let buf = '';
  registry.stdout.on('data', (d) => {
    buf += d;
    const m = /"msg":"registry listening","addr":"([^"]+)"/.exec(buf);
    if (m) resolve(`http://${m[1]}`);
  });
  registry.once('exit', (c) => reject(new Error(`registry exited ${c}`)));
});

async function load(label) {
  const deadline = Date.now() + LOAD_SECONDS * 1000;
  let bytes = 0;
  let images = 0;
  await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, async (_, w) => {
    while (Date.now() < deadline) {
      const repo = `load/w${w}`;
      const layers = [randomBytes(LAYER_KIB * 1024), randomBytes(LAYER_KIB * 1024)];
      for (const l of layers) {
        const r = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${sha(l)}`, { method: 'POST', body: l });
        if (r.status !== 201) throw new Error(`${label}: push ${r.status}`);
        bytes += l.length;
      }
      for (const l of layers) {
        const r = await fetch(`${url}/v2/${repo}/blobs/${sha(l)}`);
        const got = Buffer.from(await r.arrayBuffer());
        if (r.status !== 200 || got.length !== l.length) throw new Error(`${label}: pull ${r.status}`);
        bytes += got.length;
      }
      images++;
    }
  }));
  return { mibps: bytes / 2 ** 20 / LOAD_SECONDS, images };
}

// Windows alternate (without, with, without, with, …) so that drift of the store or the machine
// over the run weighs on both sides alike; the ratio is the median of the pairs'. One collection
// (`main.js gc`, as an operator or a CronJob runs it) goes on through all the "with" windows and is
// stopped (SIGSTOP) during the others, so that every phase of a run is measured, not only its
// first seconds; a run that ends is followed by the next one.
let gcLoops = 0;
let gcStarted = 0;
let gcChild;
let gcPaused = false;
let gcDone = false;
const gcLoop = (async () => {
  while (!gcDone) {
    gcStarted++;
    gcChild = spawn(process.execPath, [bundle, 'gc', '--config', configFile], { stdio: 'ignore' });
    if (gcPaused) gcChild.kill('SIGSTOP');
    const code = await new Promise((resolve) => gcChild.once('exit', resolve));
    if (code === 0) gcLoops++;
    else if (!gcDone) await new Promise((r) => setTimeout(r, 1000)); // busy or failed: do not spin
  }
})();
const pauseGc = (paused) => {
  gcPaused = paused;
  if (gcChild?.exitCode === null) gcChild.kill(paused ? 'SIGSTOP' : 'SIGCONT');
};
pauseGc(true);
const pairs = [];
for (let r = 0; r < LOAD_ROUNDS; r++) {
  const without = await load('without gc');
  pauseGc(false);
  const withGc = await load('with gc');
  pauseGc(true);
  pairs.push({ without, withGc, ratio: withGc.mibps / without.mibps });
  console.log(`load round ${r + 1}: without gc ${without.mibps.toFixed(1)} MiB/s (${without.images} images), with gc ${withGc.mibps.toFixed(1)} MiB/s (${withGc.images}) → ${(withGc.mibps / without.mibps).toFixed(2)}`);
}
gcDone = true;
if (gcChild?.exitCode === null) {
  gcChild.kill('SIGCONT');
  gcChild.kill('SIGTERM'); // stops the run and releases its lease
}
await gcLoop;
const ratios = pairs.map((p) => p.ratio).sort((a, b) => a - b);
console.log(
  `load: ${LOAD_ROUNDS} rounds of ${LOAD_SECONDS} s without then with gc, push+pull of 2×${LAYER_KIB} KiB by ${LOAD_CONCURRENCY} workers; ` +
    `gc at ${GC_RATELIMIT || 'unlimited'} ops/s running throughout the "with" windows (stopped in the others): ${gcStarted} runs started, ${gcLoops} completed over the whole store`,
);
console.log(`ratio with/without: median ${ratios[Math.floor(ratios.length / 2)].toFixed(2)} (rounds ${pairs.map((p) => p.ratio.toFixed(2)).join(', ')}; goal ≥ 0.8)`);

registry.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });
await driver.delete('/').catch(() => undefined);
await driver.close?.();
