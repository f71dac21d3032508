// Storage driver benchmark: one large object and many small ones through a driver, each beside a
// raw baseline measured in the same run on the same machine, with the ratio ours/baseline.
//
//   node --experimental-transform-types --no-warnings --import ./tools/bench/source-hooks.mjs \
//        tools/bench/storage.mjs [driver] [key=value ...] [--flags]
//
// It runs the TypeScript sources directly (no build): Node transforms the types, source-hooks.mjs
// resolves the workspace's imports.
//
//   driver          a registered storage driver (default: filesystem)
//   key=value       driver parameters, e.g. rootdirectory=/mnt/x sync=false (filesystem defaults
//                   to a fresh directory under $TMPDIR, removed afterwards)
//   --large-mib=N   size of the large object (default 1024)
//   --small=N       number of small objects (default 10000)
//   --small-bytes=N size of each small object (default 4096)
//   --concurrency=N small-object operations in flight (default 16)
//   --repeat=N      alternating runs of ours and the baseline; medians are reported (default 3)
//
// Baselines live in `baselines` below, one per driver; a driver without one prints "n/a".
// A baseline may add a lower-level one (largeWriteNode/largeReadNode/smallPutNode/smallGetNode,
// rows suffixed by its lowerSuffix): Node's fs for filesystem, plain undici HTTP for gcs and azure.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';


const MiB = 1024 * 1024;
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : fallback;
};
const driverName = args.find((a) => !a.includes('=') && !a.startsWith('--')) ?? 'filesystem';
const params = Object.fromEntries(args.filter((a) => a.includes('=') && !a.startsWith('--')).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
const largeMiB = flag('large-mib', 1024);
const smallCount = flag('small', 10_000);
const smallBytes = flag('small-bytes', 4096);
const concurrency = flag('concurrency', 16);
const repeat = flag('repeat', 3);

// Only the driver under test is loaded (not every SDK the package registers).
const { createDriver } = await import('../../libs/storage/src/factory.js');
await import(`../../libs/storage/src/drivers/${driverName}/index.js`);

let scratch;
if (driverName === 'filesystem' && !params.rootdirectory) params.rootdirectory = scratch = mkdtempSync(path.join(tmpdir(), 'kuik-bench-'));

const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
// Every measurement starts with no dirty pages: otherwise whichever runs second pays for the
// writeback of the first (the kernel throttles writers above dirty_ratio).
async function timed(fn) {
  execFileSync('sync');
  const t0 = process.hrtime.bigint();
  await fn();
  return seconds(t0);
}
async function inParallel(n, limit, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, limit) }, async () => {
    while (next < n) await fn(next++);
  }));
}

// ---- baselines: raw tools on the same storage, same sizes -------------------------------------
const baselines = {
  filesystem: {
    dir() {
      const d = path.join(params.rootdirectory, '.bench~baseline'); // '~': invisible to the driver
      mkdirSync(d, { recursive: true });
      return d;
    },
    sync: () => params.sync !== 'false',
    largeWrite() {
      const file = path.join(this.dir(), 'large');
      const fsync = this.sync() ? ['conv=fsync'] : [];
      return { label: `dd bs=1M${fsync.length ? ' conv=fsync' : ''}`, run: async () => execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${largeMiB}`, ...fsync], { stdio: 'ignore' }) };
    },
    largeRead() {
      const file = path.join(this.dir(), 'large');
      return { label: 'cat > /dev/null', run: async () => execFileSync('sh', ['-c', `cat "${file}" > /dev/null`]) };
    },
    // The same through Node's own fs, to tell what the driver costs from what Node costs.
    largeWriteNode(chunk) {
      const file = path.join(this.dir(), 'large-node');
      const sync = this.sync();
      return {
        label: `node fh.write 1M${sync ? ' + fsync' : ''}`,
        run: async () => {
          const fh = await open(file, 'w');
          for (let i = 0; i < largeMiB; i++) await fh.write(chunk, 0, chunk.length, i * MiB);
          if (sync) await fh.sync();
          await fh.close();
        },
      };
    },
    largeReadNode() {
      const file = path.join(this.dir(), 'large-node');
      return { label: 'node fs.createReadStream', run: async () => {
        for await (const _ of createReadStream(file, { highWaterMark: MiB }));
      } };
    },
    smallPut(content) {
      const dir = this.dir();
      const sync = this.sync();
      return {
        label: sync ? 'fs open/write/fsync/close' : 'fs.writeFile',
        run: (i) =>
          sync
            ? open(path.join(dir, `s${i}`), 'w').then(async (fh) => {
                await fh.writeFile(content);
                await fh.sync();
                await fh.close();
              })
            : writeFile(path.join(dir, `s${i}`), content),
      };
    },
    smallGet() {
      const dir = this.dir();
      return { label: 'fs.readFile', run: (i) => readFile(path.join(dir, `s${i}`)) };
    },
    cleanup() {
      rmSync(this.dir(), { recursive: true, force: true });
    },
  },
};
// ---- s3 / MinIO (section owned by the s3 driver) -------------------------------------------------
// `storage.mjs s3` without parameters runs against the test MinIO (bash tools/test-servers/minio.sh
// start) in a fresh bucket that is removed at exit. With parameters (regionendpoint=... bucket=...
// accesskey=... secretkey=...) it uses those. The baseline is MinIO's own client, minio-js
// putObject/getObject, on the same server and bucket (its objects under "bench-baseline/", which
// each repetition overwrites).
if (driverName === 's3') baselines.s3 = await s3Baseline();

async function s3Baseline() {
  const { Client } = await import('minio');
  const { Readable } = await import('node:stream');
  const { existsSync, readFileSync } = await import('node:fs');
  let removeBucket = false;
  if (!params.bucket) {
    const stateDir = process.env.KUIK_TEST_STATE_DIR ?? path.resolve(import.meta.dirname, '../../tmp/test-servers');
    const envFile = path.join(stateDir, 'minio.env');
    if (!existsSync(envFile)) {
      console.error('MinIO is not running: bash tools/test-servers/minio.sh start');
      process.exit(2);
    }
    const env = Object.fromEntries(readFileSync(envFile, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    Object.assign(params, {
      regionendpoint: env.MINIO_ENDPOINT,
      region: env.MINIO_REGION,
      accesskey: env.MINIO_ACCESS_KEY,
      secretkey: env.MINIO_SECRET_KEY,
      bucket: `kuik-bench-${Date.now().toString(36)}`,
      createbucket: 'true',
    });
    removeBucket = true;
  }
  if (!params.regionendpoint || !params.accesskey) return undefined; // AWS without keys: no baseline
  const url = new URL(/^https?:\/\//.test(params.regionendpoint) ? params.regionendpoint : `${params.secure === 'false' ? 'http' : 'https'}://${params.regionendpoint}`);
  const minio = new Client({
    endPoint: url.hostname,
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    useSSL: url.protocol === 'https:',
    accessKey: params.accesskey,
    secretKey: params.secretkey,
    region: params.region ?? 'us-east-1',
    pathStyle: params.forcepathstyle !== 'false',
  });
  const bucket = params.bucket;
  if (!(await minio.bucketExists(bucket))) await minio.makeBucket(bucket, params.region ?? 'us-east-1');
  const drain = async (stream) => {
    let n = 0;
    for await (const c of stream) n += c.length;
    return n;
  };
  const large = () =>
    Readable.from((function* () {
      for (let i = 0; i < largeMiB; i++) yield chunk;
    })());
  if (removeBucket) {
    let removed = false;
    process.on('beforeExit', async () => {
      if (removed) return;
      removed = true;
      const names = [];
      for await (const o of minio.listObjectsV2(bucket, '', true)) names.push(o.name);
      for (let i = 0; i < names.length; i += 1000) await minio.removeObjects(bucket, names.slice(i, i + 1000));
      await minio.removeBucket(bucket);
    });
  }
  return {
    largeWrite: () => ({ label: 'minio-js putObject', run: () => minio.putObject(bucket, 'bench-baseline/large', large(), largeMiB * MiB) }),
    largeRead: () => ({
      label: 'minio-js getObject',
      run: async () => {
        const n = await drain(await minio.getObject(bucket, 'bench-baseline/large'));
        if (n !== largeMiB * MiB) throw new Error(`baseline read ${n} bytes`);
      },
    }),
    smallPut: (content) => ({ label: 'minio-js putObject', run: (i) => minio.putObject(bucket, `bench-baseline/small/${i % 100}/s${i}`, content, content.length) }),
    smallGet: () => ({
      label: 'minio-js getObject',
      run: async (i) => {
        if ((await drain(await minio.getObject(bucket, `bench-baseline/small/${i % 100}/s${i}`))) !== smallBytes) throw new Error('short read');
      },
    }),
    cleanup() {
      // nothing: the next repetition overwrites these objects, and the bucket goes at exit
    },
  };
}
// ---- end of the s3 section -----------------------------------------------------------------------

// ---- gcs and azure / fake-gcs-server and Azurite (section owned by the gcs and azure drivers) ----
// `storage.mjs gcs` or `storage.mjs azure` without parameters runs against the test emulator (bash
// tools/test-servers/fake-gcs.sh start, azurite.sh start) in a fresh bucket/container removed at
// exit; with parameters (gcs: bucket=... endpoint=... projectid=...; azure: accountname=...
// accountkey=... container=... serviceurl=...) it uses those. Baselines are the raw SDKs on the same
// server, in the same bucket/container (objects under "bench-baseline/", overwritten by each
// repetition): @google-cloud/storage file.createWriteStream (a simple, non-resumable upload: the
// driver's parts are those too) / createReadStream for the large object and file.save / download
// for the small ones, with the driver's checksum settings (MD5 on upload, none on download; the
// SDK's default CRC32C, computed in JavaScript, is 2-4x slower on both sides);
// @azure/storage-blob uploadStream (8 MiB blocks, one in flight, as the driver) / download()
// stream, and uploadData / downloadToBuffer.
if (driverName === 'gcs') baselines.gcs = await gcsBaseline();
if (driverName === 'azure') baselines.azure = await azureBaseline();

function emulatorEnv(name, start) {
  return async () => {
    const { existsSync, readFileSync } = await import('node:fs');
    const stateDir = process.env.KUIK_TEST_STATE_DIR ?? path.resolve(import.meta.dirname, '../../tmp/test-servers');
    const envFile = path.join(stateDir, `${name}.env`);
    if (!existsSync(envFile)) {
      console.error(`${name} is not running: bash tools/test-servers/${start} start`);
      process.exit(2);
    }
    return Object.fromEntries(readFileSync(envFile, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  };
}

/** Removes what a run created, once, when the event loop drains (after the results are printed). */
function atExit(fn) {
  let done = false;
  process.on('beforeExit', async () => {
    if (done) return;
    done = true;
    await fn();
  });
}

function largeStream() {
  return Readable.from((function* () {
    for (let i = 0; i < largeMiB; i++) yield chunk;
  })());
}

async function drainCount(stream) {
  let n = 0;
  for await (const c of stream) n += c.length;
  return n;
}

async function gcsBaseline() {
  const { Storage } = await import('@google-cloud/storage');
  let owned = false;
  if (!params.bucket) {
    const env = await emulatorEnv('fake-gcs', 'fake-gcs.sh')();
    Object.assign(params, { endpoint: env.FAKE_GCS_ENDPOINT, projectid: env.FAKE_GCS_PROJECT_ID, bucket: `kuik-bench-${Date.now().toString(36)}` });
    owned = true;
  }
  const storage = new Storage({ ...(params.endpoint ? { apiEndpoint: params.endpoint } : {}), ...(params.projectid ? { projectId: params.projectid } : {}) });
  const bucket = storage.bucket(params.bucket);
  if (owned) {
    await bucket.create();
    atExit(async () => {
      const [files] = await bucket.getFiles();
      for (let i = 0; i < files.length; i += 64) await Promise.all(files.slice(i, i + 64).map((f) => f.delete({ ignoreNotFound: true })));
      await bucket.delete();
    });
  }
  const large = bucket.file('bench-baseline/large');
  const small = (i) => bucket.file(`bench-baseline/small/${i % 100}/s${i}`);
  return {
    largeWrite: () => ({
      label: 'SDK createWriteStream',
      run: () => pipeline(largeStream(), large.createWriteStream({ resumable: false, contentType: 'application/octet-stream', validation: 'md5' })),
    }),
    largeRead: () => ({
      label: 'SDK createReadStream',
      run: async () => {
        const n = await drainCount(large.createReadStream({ validation: false }));
        if (n !== largeMiB * MiB) throw new Error(`baseline read ${n} bytes`);
      },
    }),
    smallPut: (content) => ({ label: 'SDK file.save', run: (i) => small(i).save(content, { resumable: false, validation: 'md5' }) }),
    smallGet: () => ({
      label: 'SDK file.download',
      run: async (i) => {
        const [b] = await small(i).download({ validation: false });
        if (b.length !== smallBytes) throw new Error('short read');
      },
    }),
    // Plain HTTP through undici, no SDK: the JSON API's media upload and alt=media download (the
    // emulator needs no credentials; against real GCS this lower baseline is not run).
    ...(params.endpoint ? gcsHttp(params.endpoint, params.bucket) : {}),
    cleanup() {
      // nothing: the next repetition overwrites these objects, and the bucket goes at exit
    },
  };
}

function gcsHttp(endpoint, bucketName) {
  const base = endpoint.replace(/\/+$/, '');
  const up = (name) => `${base}/upload/storage/v1/b/${bucketName}/o?uploadType=media&name=${encodeURIComponent(name)}`;
  const down = (name) => `${base}/storage/v1/b/${bucketName}/o/${encodeURIComponent(name)}?alt=media`;
  return {
    lowerSuffix: ' (vs http)',
    largeWriteNode: () => ({
      label: 'undici POST uploadType=media',
      run: () => httpSend('POST', up('bench-http/large'), largeStream(), largeMiB * MiB),
    }),
    largeReadNode: () => ({ label: 'undici GET alt=media', run: () => httpFetch(down('bench-http/large'), largeMiB * MiB) }),
    smallPutNode: (content) => ({ label: 'undici POST uploadType=media', run: (i) => httpSend('POST', up(`bench-http/small/${i % 100}/s${i}`), content, content.length) }),
    smallGetNode: () => ({ label: 'undici GET alt=media', run: (i) => httpFetch(down(`bench-http/small/${i % 100}/s${i}`), smallBytes) }),
  };
}

/** One request with a body (a Buffer or a stream of known length); the answer must be 2xx. */
async function httpSend(method, url, body, length, headers = {}) {
  const { request } = await import('undici');
  const res = await request(url, { method, body, headers: { 'content-type': 'application/octet-stream', 'content-length': String(length), ...headers } });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${url.split('?')[0]}: ${res.statusCode} ${text.slice(0, 200)}`);
}

/** GET, counting the bytes as they stream by; the count must be `expected`. */
async function httpFetch(url, expected, headers = {}) {
  const { request } = await import('undici');
  const res = await request(url, { headers });
  let n = 0;
  for await (const c of res.body) n += c.length;
  if (res.statusCode !== 200 || n !== expected) throw new Error(`GET ${url.split('?')[0]}: ${res.statusCode}, ${n} bytes, expected ${expected}`);
}

async function azureBaseline() {
  const { BlobServiceClient, StorageSharedKeyCredential } = await import('@azure/storage-blob');
  let owned = false;
  if (!params.container) {
    const env = await emulatorEnv('azurite', 'azurite.sh')();
    Object.assign(params, {
      accountname: env.AZURITE_ACCOUNT_NAME,
      accountkey: env.AZURITE_ACCOUNT_KEY,
      serviceurl: env.AZURITE_BLOB_ENDPOINT,
      container: `kuik-bench-${Date.now().toString(36)}`,
      createcontainer: 'true',
    });
    owned = true;
  }
  const serviceUrl = params.serviceurl ?? `https://${params.accountname}.blob.${params.realm ?? 'core.windows.net'}`;
  const container = new BlobServiceClient(serviceUrl, new StorageSharedKeyCredential(params.accountname, params.accountkey)).getContainerClient(params.container);
  await container.createIfNotExists();
  if (owned) atExit(() => container.deleteIfExists());
  const large = container.getBlockBlobClient('bench-baseline/large');
  const small = (i) => container.getBlockBlobClient(`bench-baseline/small/${i % 100}/s${i}`);
  return {
    largeWrite: () => ({ label: 'SDK uploadStream 8M×1', run: () => large.uploadStream(largeStream(), 8 * MiB, 1) }),
    largeRead: () => ({
      label: 'SDK download() stream',
      run: async () => {
        const n = await drainCount((await large.download()).readableStreamBody);
        if (n !== largeMiB * MiB) throw new Error(`baseline read ${n} bytes`);
      },
    }),
    smallPut: (content) => ({ label: 'SDK uploadData', run: (i) => small(i).uploadData(content) }),
    smallGet: () => ({
      label: 'SDK downloadToBuffer',
      run: async (i) => {
        if ((await small(i).downloadToBuffer()).length !== smallBytes) throw new Error('short read');
      },
    }),
    // Plain HTTP through undici, no SDK: Put Block ×n + Put Block List (8 MiB blocks, as the SDK
    // and the driver) and one Get Blob, authorized by a container SAS made once.
    ...(await azureHttp(container, StorageSharedKeyCredential)),
    cleanup() {
      // nothing: the next repetition overwrites these blobs, and the container goes at exit
    },
  };
}

async function azureHttp(container, StorageSharedKeyCredential) {
  const { generateBlobSASQueryParameters, ContainerSASPermissions } = await import('@azure/storage-blob');
  const sas = generateBlobSASQueryParameters(
    { containerName: container.containerName, permissions: ContainerSASPermissions.parse('rw'), expiresOn: new Date(Date.now() + 86_400_000) },
    new StorageSharedKeyCredential(params.accountname, params.accountkey),
  ).toString();
  const url = (name, query = '') => `${container.url}/${name.split('/').map(encodeURIComponent).join('/')}?${query}${query ? '&' : ''}${sas}`;
  const v = { 'x-ms-version': '2021-12-02' };
  const blockId = (i) => Buffer.from(`block-${String(i).padStart(6, '0')}`).toString('base64');
  return {
    lowerSuffix: ' (vs http)',
    largeWriteNode: () => ({
      label: 'undici Put Block 8M×1 + List',
      run: async () => {
        const name = 'bench-http/large';
        let block = [];
        let size = 0;
        let n = 0;
        const flush = async () => {
          const body = Buffer.concat(block, size);
          await httpSend('PUT', url(name, `comp=block&blockid=${encodeURIComponent(blockId(n++))}`), body, body.length, v);
          block = [];
          size = 0;
        };
        for await (const c of largeStream()) {
          block.push(c);
          size += c.length;
          if (size >= 8 * MiB) await flush();
        }
        if (size > 0) await flush();
        const list = `<?xml version="1.0" encoding="utf-8"?><BlockList>${Array.from({ length: n }, (_, i) => `<Latest>${blockId(i)}</Latest>`).join('')}</BlockList>`;
        await httpSend('PUT', url(name, 'comp=blocklist'), list, Buffer.byteLength(list), { ...v, 'content-type': 'application/xml' });
      },
    }),
    largeReadNode: () => ({ label: 'undici Get Blob', run: () => httpFetch(url('bench-http/large'), largeMiB * MiB, v) }),
    smallPutNode: (content) => ({
      label: 'undici Put Blob',
      run: (i) => httpSend('PUT', url(`bench-http/small/${i % 100}/s${i}`), content, content.length, { ...v, 'x-ms-blob-type': 'BlockBlob' }),
    }),
    smallGetNode: () => ({ label: 'undici Get Blob', run: (i) => httpFetch(url(`bench-http/small/${i % 100}/s${i}`), smallBytes, v) }),
  };
}
// ---- end of the gcs and azure section --------------------------------------------------------------

const baseline = baselines[driverName];

// ---- run -----------------------------------------------------------------------------------------
// Ours and the baseline alternate, --repeat times, and the median of each is reported: shared disks
// and page-cache writeback make any single run noisy.
const driver = await createDriver(driverName, params);
const prefix = `/bench-${Date.now().toString(36)}`;
const samples = new Map(); // row name -> { unit, ours: [], base: [], label }
const record = (what, unit, side, value, label) => {
  const s = samples.get(what) ?? { unit, ours: [], base: [], label: 'n/a' };
  s[side].push(value);
  if (label) s.label = label;
  samples.set(what, s);
};

console.log(`driver ${driverName} ${JSON.stringify(params)}  node ${process.version}  repeat ${repeat}`);
const chunk = randomBytes(MiB); // one buffer reused: each write is awaited before the next
const content = randomBytes(smallBytes);
const mbps = (t) => (largeMiB * MiB) / 1e6 / t;
const ops = (t) => smallCount / t;
const largeW = `large ${largeMiB} MiB write`;
const largeR = `large ${largeMiB} MiB read`;
const smallP = `small ${smallCount}×${smallBytes} B put`;
const smallG = `small ${smallCount}×${smallBytes} B get`;
const key = `${prefix}/large`;
const small = (i) => `${prefix}/small/${i % 100}/s${i}`;
const phases = {
  async oursLarge() {
    record(largeW, 'MB/s', 'ours', mbps(await timed(async () => {
      const w = await driver.writer(key, false);
      for (let i = 0; i < largeMiB; i++) await w.write(chunk);
      await w.commit();
    })));
    let readBytes = 0;
    record(largeR, 'MB/s', 'ours', mbps(await timed(async () => {
      for await (const c of await driver.reader(key)) readBytes += c.length;
    })));
    if (readBytes !== largeMiB * MiB) throw new Error(`read ${readBytes} bytes, wrote ${largeMiB * MiB}`);
    await driver.delete(key);
  },
  async baseLarge() {
    if (!baseline) return;
    // A second, lower-level baseline when the driver has one: Node's own fs (filesystem), plain HTTP
    // requests without the SDK (gcs, azure).
    for (const [suffix, w, r] of [['', baseline.largeWrite(), baseline.largeRead()], [baseline.lowerSuffix ?? ' (vs node)', baseline.largeWriteNode?.(chunk), baseline.largeReadNode?.()]]) {
      if (!w || !r) continue;
      record(largeW + suffix, 'MB/s', 'base', mbps(await timed(w.run)), w.label);
      record(largeR + suffix, 'MB/s', 'base', mbps(await timed(r.run)), r.label);
    }
    baseline.cleanup();
  },
  async oursSmall() {
    record(smallP, 'ops/s', 'ours', ops(await timed(() => inParallel(smallCount, concurrency, (i) => driver.putContent(small(i), content)))));
    record(smallG, 'ops/s', 'ours', ops(await timed(() => inParallel(smallCount, concurrency, async (i) => {
      if ((await driver.getContent(small(i))).length !== smallBytes) throw new Error('short read');
    }))));
    await driver.delete(prefix);
  },
  async baseSmall() {
    if (!baseline) return;
    const p = baseline.smallPut(content);
    record(smallP, 'ops/s', 'base', ops(await timed(() => inParallel(smallCount, concurrency, p.run))), p.label);
    const g = baseline.smallGet();
    record(smallG, 'ops/s', 'base', ops(await timed(() => inParallel(smallCount, concurrency, g.run))), g.label);
    if (baseline.smallPutNode && baseline.smallGetNode) {
      const lp = baseline.smallPutNode(content);
      record(smallP + baseline.lowerSuffix, 'ops/s', 'base', ops(await timed(() => inParallel(smallCount, concurrency, lp.run))), lp.label);
      const lg = baseline.smallGetNode();
      record(smallG + baseline.lowerSuffix, 'ops/s', 'base', ops(await timed(() => inParallel(smallCount, concurrency, lg.run))), lg.label);
    }
    baseline.cleanup();
  },
};
try {
  // Odd repetitions run the baseline first, so neither side always inherits the other's cache state.
  for (let rep = 0; rep < repeat; rep++) {
    const order = rep % 2 ? ['baseLarge', 'oursLarge', 'baseSmall', 'oursSmall'] : ['oursLarge', 'baseLarge', 'oursSmall', 'baseSmall'];
    for (const phase of order) await phases[phase]();
  }
} finally {
  baseline?.cleanup?.();
  await driver.close?.();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}

for (const [what, s] of samples) {
  const plain = samples.get(what.replace(/ \(vs [^)]+\)$/, ''));
  if (/ \(vs [^)]+\)$/.test(what) && plain) s.ours = plain.ours;
}
const median = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : undefined);
const fmt = (n) => (n === undefined ? 'n/a' : n >= 100 ? n.toFixed(0) : n.toFixed(2));
for (const [what, s] of samples) {
  const ours = median(s.ours);
  const base = median(s.base);
  console.log(
    `${what.padEnd(40)} ours ${fmt(ours).padStart(7)} ${s.unit.padEnd(5)}  baseline ${fmt(base).padStart(7)} ${s.unit.padEnd(5)} ${`(${s.label})`.padEnd(30)}` +
      ` ratio ${base === undefined ? 'n/a' : (ours / base).toFixed(2)}`,
  );
}
