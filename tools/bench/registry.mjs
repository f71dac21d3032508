// Registry benchmark: the kuik registry and Debian's docker-registry (distribution 2.8), each its
// own process, both on the filesystem driver in directories of the same disk, measured in the same
// run by the same client; prints ours, theirs and the ratio ours/theirs.
//
//   node tools/bench/registry.mjs [--flags]          (after `npx nx build registry`)
//
//   large push   one --large-mib blob, streamed: POST, one PATCH with the whole body, PUT ?digest=
//   large pull   GET of that blob, bytes discarded
//   rss          peak resident memory of each server process during the large push and pull
//   small push   --small blobs of --small-bytes (POST + PUT ?digest=, as docker/containerd push
//                small blobs), --concurrency in flight
//   manifests    --manifests image manifests (config + one small layer already pushed) PUT by
//                tag, then GET by tag, --concurrency in flight
//   wrk          manifest GET by tag under wrk (--wrk-connections, --wrk-seconds): requests/s
//                and p99 latency
//
// Ratios: above 1 is better for throughput and requests/s, below 1 for latency and memory.
// Every repetition (--repeat, default 3; medians reported) alternates the two servers and uses
// fresh content and repositories; every write measurement starts after `sync`.
//
//   --large-mib=1024 --small=2000 --small-bytes=4096 --manifests=1000 --concurrency=16
//   --wrk-seconds=10 --wrk-connections=32 (0 seconds skips wrk) --repeat=3
//   --sync=true      our filesystem driver's `sync` (fsync before a write is acknowledged: its
//                    default); docker-registry never fsyncs, --sync=false compares like with like
import { execFileSync, spawn } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  if (!a) return fallback;
  const v = a.slice(name.length + 3);
  return typeof fallback === 'number' ? Number(v) : v;
};
const LARGE_MIB = flag('large-mib', 1024);
const SMALL = flag('small', 2000);
const SMALL_BYTES = flag('small-bytes', 4096);
const MANIFESTS = flag('manifests', 1000);
const CONCURRENCY = flag('concurrency', 16);
const WRK_SECONDS = flag('wrk-seconds', 10);
const WRK_CONNECTIONS = flag('wrk-connections', 32);
const REPEAT = flag('repeat', 3);
const SYNC = flag('sync', 'true');
const MiB = 1 << 20;
const stateDir = process.env.KUIK_TEST_STATE_DIR ?? path.join(root, 'tmp/test-servers');
const INSTANCE = 'bench-registry';
const children = [];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
const agent = new Agent({ connections: 128, pipelining: 1, bodyTimeout: 300_000, headersTimeout: 300_000 });

function readEnv(file) {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

function tool(key, install) {
  const f = path.join(stateDir, 'tools.env');
  const v = existsSync(f) ? readEnv(f)[key] : undefined;
  if (!v || !existsSync(v)) throw new Error(`${key} is not installed: ${install}`);
  return v;
}

/** docker-registry in a fresh storage directory (stopped, then emptied, at exit). */
function startTheirs() {
  const script = path.join(root, 'tools/test-servers/docker-registry.sh');
  execFileSync('bash', [script, 'stop', INSTANCE], { stdio: 'ignore' });
  rmSync(path.join(stateDir, `docker-registry-${INSTANCE}`, 'storage'), { recursive: true, force: true });
  execFileSync('bash', [script, 'start', INSTANCE], { stdio: ['ignore', 'ignore', 'pipe'] });
  const env = readEnv(path.join(stateDir, `docker-registry-${INSTANCE}.env`));
  const p = `DOCKER_REGISTRY_${INSTANCE.toUpperCase().replace(/-/g, '_')}`;
  const pid = Number(readFileSync(path.join(stateDir, `docker-registry-${INSTANCE}.pid`), 'utf8').trim());
  return { name: 'docker-registry', url: env[`${p}_URL`], pid, storage: env[`${p}_STORAGE_DIR`] };
}

function freePort() {
  return Number(execFileSync('python3', ['-c', 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()']).toString().trim());
}

/** Ours from its bundle, storage beside docker-registry's (same disk); access log to a file as theirs. */
async function startOurs(theirsStorage) {
  const bundle = path.join(root, 'dist/apps/registry/main.js');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: npx nx build registry`);
  const dir = path.join(path.dirname(path.dirname(theirsStorage)), `kuik-registry-${INSTANCE}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const port = freePort();
  const log = openSync(path.join(dir, 'access.log'), 'w');
  const child = spawn(process.execPath, [bundle], {
    env: {
      ...process.env,
      REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`,
      REGISTRY_HTTP_DEBUG_ADDR: '',
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: path.join(dir, 'storage'),
      REGISTRY_STORAGE_FILESYSTEM_SYNC: SYNC,
      REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_ENABLED: 'false',
      REGISTRY_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', log, 'inherit'],
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`kuik registry exited with ${child.exitCode}`);
    if (await fetch(`${url}/v2/`).then((r) => r.ok, () => false)) return { name: 'kuik registry', url, pid: child.pid, dir, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('kuik registry did not answer /v2/ within 15 s');
}

const rssMiB = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
function sampler(pid) {
  let peak = rssMiB(pid);
  const t = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 50);
  return () => (clearInterval(t), peak);
}

/** Pseudo-random bytes at memory speed, never held whole. */
function keystream(length) {
  const cipher = createCipheriv('aes-256-ctr', randomBytes(32), Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  let left = length;
  return new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(left, zeros.length);
      left -= n;
      this.push(cipher.update(zeros.subarray(0, n)));
    },
  });
}

async function ok(res, what, status) {
  if (res.statusCode !== status) throw new Error(`${what}: ${res.statusCode} ${await res.body.text()}`);
  await res.body.dump();
  return res;
}
const abs = (base, location) => new URL(location, base).toString();

/** Streams `size` fresh bytes as one upload (POST, PATCH, PUT ?digest=); returns the digest. */
async function pushLarge(server, repo, size) {
  const start = await ok(await request(`${server.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', dispatcher: agent }), 'POST', 202);
  const hash = createHash('sha256');
  const body = keystream(size).pipe(new Transform({ transform: (c, _e, done) => (hash.update(c), done(null, c)) }));
  const patch = await ok(
    await request(abs(server.url, start.headers.location), { method: 'PATCH', body, headers: { 'content-type': 'application/octet-stream' }, dispatcher: agent }),
    'PATCH',
    202,
  );
  const digest = `sha256:${hash.digest('hex')}`;
  const put = new URL(abs(server.url, patch.headers.location));
  put.searchParams.set('digest', digest);
  await ok(await request(put.toString(), { method: 'PUT', dispatcher: agent }), 'PUT', 201);
  return digest;
}

async function pull(server, repo, digest) {
  const res = await request(`${server.url}/v2/${repo}/blobs/${digest}`, { dispatcher: agent });
  if (res.statusCode !== 200) throw new Error(`GET blob: ${res.statusCode}`);
  let n = 0;
  for await (const c of res.body) n += c.length;
  return n;
}

async function pushSmall(server, repo, content) {
  const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  const start = await ok(await request(`${server.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', dispatcher: agent }), 'POST', 202);
  const put = new URL(abs(server.url, start.headers.location));
  put.searchParams.set('digest', digest);
  await ok(await request(put.toString(), { method: 'PUT', body: content, headers: { 'content-type': 'application/octet-stream' }, dispatcher: agent }), 'PUT', 201);
  return digest;
}

async function inParallel(n, limit, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, limit) }, async () => {
    while (next < n) await fn(next++);
  }));
}

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

async function manifestsRound(server, repo) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: randomBytes(8).toString('hex') }));
  const layer = randomBytes(SMALL_BYTES);
  const [configDigest, layerDigest] = [await pushSmall(server, repo, config), await pushSmall(server, repo, layer)];
  const manifest = (i) =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
      annotations: { 'bench.index': String(i) },
    });
  execFileSync('sync');
  let t0 = process.hrtime.bigint();
  await inParallel(MANIFESTS, CONCURRENCY, async (i) => {
    await ok(await request(`${server.url}/v2/${repo}/manifests/t${i}`, { method: 'PUT', body: manifest(i), headers: { 'content-type': MANIFEST_TYPE }, dispatcher: agent }), `PUT manifest ${i}`, 201);
  });
  const put = MANIFESTS / seconds(t0);
  t0 = process.hrtime.bigint();
  await inParallel(MANIFESTS, CONCURRENCY, async (i) => {
    await ok(await request(`${server.url}/v2/${repo}/manifests/t${i}`, { headers: { accept: MANIFEST_TYPE }, dispatcher: agent }), `GET manifest ${i}`, 200);
  });
  return { put, get: MANIFESTS / seconds(t0) };
}

function wrk(server, repo) {
  const bin = tool('WRK_BIN', 'bash tools/test-servers/tools.sh install');
  const out = execFileSync(bin, ['-t2', `-c${WRK_CONNECTIONS}`, `-d${WRK_SECONDS}s`, '--latency', '-H', `Accept: ${MANIFEST_TYPE}`, `${server.url}/v2/${repo}/manifests/t0`]).toString();
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const [, v, unit] = /\n\s+99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99ms = Number(v) * { us: 0.001, ms: 1, s: 1000 }[unit];
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx) throw new Error(`wrk on ${server.name}: ${non2xx[1]} error responses`);
  return { rps, p99ms };
}

const results = new Map();
const record = (server, key, value) => {
  const k = `${server.name}|${key}`;
  results.set(k, [...(results.get(k) ?? []), value]);
};

try {
  const theirs = startTheirs();
  const ours = await startOurs(theirs.storage);
  const servers = [ours, theirs];
  console.log(
    `kuik registry ${ours.url} (filesystem, sync=${SYNC}) vs docker-registry ${theirs.url} (filesystem), both under ${path.dirname(ours.dir)}; ` +
      `large ${LARGE_MIB} MiB, ${SMALL} small blobs of ${SMALL_BYTES} B, ${MANIFESTS} manifests, concurrency ${CONCURRENCY}, ${REPEAT} repetitions`,
  );
  for (let r = 0; r < REPEAT; r++) {
    // Alternate who goes first: the second of a pair inherits the first's page cache and writeback.
    for (const server of r % 2 ? [...servers].reverse() : servers) {
      const repo = `bench/r${r}`;
      const idle = rssMiB(server.pid);
      execFileSync('sync');
      let stop = sampler(server.pid);
      let t0 = process.hrtime.bigint();
      const digest = await pushLarge(server, repo, LARGE_MIB * MiB);
      record(server, 'large push MiB/s', LARGE_MIB / seconds(t0));
      record(server, 'rss push peak MiB', stop());
      stop = sampler(server.pid);
      t0 = process.hrtime.bigint();
      const n = await pull(server, repo, digest);
      if (n !== LARGE_MIB * MiB) throw new Error(`${server.name}: pulled ${n} bytes`);
      record(server, 'large pull MiB/s', LARGE_MIB / seconds(t0));
      record(server, 'rss pull peak MiB', stop());
      record(server, 'rss idle MiB', idle);

      const contents = Array.from({ length: SMALL }, () => randomBytes(SMALL_BYTES));
      execFileSync('sync');
      t0 = process.hrtime.bigint();
      const digests = new Array(SMALL);
      await inParallel(SMALL, CONCURRENCY, async (i) => (digests[i] = await pushSmall(server, repo, contents[i])));
      record(server, 'small push blobs/s', SMALL / seconds(t0));
      t0 = process.hrtime.bigint();
      await inParallel(SMALL, CONCURRENCY, async (i) => {
        if ((await pull(server, repo, digests[i])) !== SMALL_BYTES) throw new Error('short small blob');
      });
      record(server, 'small pull blobs/s', SMALL / seconds(t0));

      const m = await manifestsRound(server, `${repo}/m`);
      record(server, 'manifest PUT/s', m.put);
      record(server, 'manifest GET/s', m.get);
      if (WRK_SECONDS > 0) {
        const w = wrk(server, `${repo}/m`);
        record(server, 'wrk manifest GET req/s', w.rps);
        record(server, 'wrk manifest GET p99 ms', w.p99ms);
      }
    }
  }
  const keys = [...new Set([...results.keys()].map((k) => k.split('|')[1]))];
  console.log(`${'measure'.padEnd(26)}${'kuik registry'.padStart(15)}${'docker-registry'.padStart(17)}${'ratio'.padStart(8)}`);
  for (const key of keys) {
    const a = median(results.get(`${ours.name}|${key}`));
    const b = median(results.get(`${theirs.name}|${key}`));
    const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
    console.log(`${key.padEnd(26)}${fmt(a).padStart(15)}${fmt(b).padStart(17)}${(a / b).toFixed(2).padStart(8)}`);
  }
} finally {
  await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => (c.once('exit', r), c.kill('SIGTERM'))))));
  execFileSync('bash', [path.join(root, 'tools/test-servers/docker-registry.sh'), 'stop', INSTANCE], { stdio: 'ignore' });
  rmSync(path.join(stateDir, `docker-registry-${INSTANCE}`, 'storage'), { recursive: true, force: true });
  rmSync(path.join(stateDir, `kuik-registry-${INSTANCE}`), { recursive: true, force: true });
  await agent.close();
}
