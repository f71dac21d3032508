// Proxy benchmark: pulls through the proxy beside the same pulls straight from its peers, in the
// same run on the same machine, and prints the ratios.
//
//   node --experimental-transform-types --no-warnings --import ./tools/bench/source-hooks.mjs \
//        tools/bench/proxy.mjs [--flags]
//
//   cold   image pulled through the proxy with an empty cache  vs  pulled from the origin directly
//   warm   image pulled through the proxy, cached              vs  pulled from the kuik registry directly
//   fanout N clients pulling one cold image at once             vs  one client doing it alone
//   rss    peak RSS of the proxy process while one client streams a --big-mib layer through it
//   private the cold and warm pulls again from an origin behind basic auth, the client presenting
//          the credentials (as kubelet does with a pod's pull secret): the proxy checks them with
//          the origin and caches in its private area (apps/proxy/src/client-auth.ts); the peers
//          are the same direct pulls, with the same credentials for the origin
//
// Servers: Debian's docker-registry as the origin (tools/test-servers/docker-registry.sh start
// bench), the kuik registry and the proxy from their bundles (dist/apps/*/main.js, built first
// with `npx nx run-many -p registry proxy -t build`), each its own process. The puller is a plain
// undici client that GETs the manifest, then the blobs three at a time (as containerd does),
// discarding the bytes. Every cold repetition uses a fresh repository (blobs cross-mounted at
// the origin, so the proxy's cache is really empty).
//
//   --layers=N       layers per image (default 4)     --layer-mib=N  size of each (default 64)
//   --clients=N      concurrent clients for fanout (default 20)
//   --big-mib=N      layer streamed for the RSS measure (default 2048; 0 skips it)
//   --repeat=N       repetitions of cold/warm; medians are reported (default 3)
//   --private=0      skips the private pulls (a second docker-registry, `bench-auth`, with htpasswd)
//   --origin-mibps=N the origin is reached through a relay that delivers at most N MiB/s in
//                    total (one shared link, as a node's link to a remote registry), for the
//                    direct pulls and the proxy alike (default 0: loopback speed, no relay)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { createConnection, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

const { RegistryClient } = await import('../../libs/oci/src/client/index.js');
const { largeLayer, makeImage, pushImage } = await import('../../apps/proxy/test/support/images.js');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : fallback;
};
const LAYERS = flag('layers', 4);
const LAYER_MIB = flag('layer-mib', 64);
const CLIENTS = flag('clients', 20);
const BIG_MIB = flag('big-mib', 2048);
const REPEAT = flag('repeat', 3);
const ORIGIN_MIBPS = flag('origin-mibps', 0);
const PRIVATE = flag('private', 1) !== 0;
const MiB = 1 << 20;
const scratch = mkdtempSync(path.join(tmpdir(), 'kuik-bench-proxy-'));
const children = [];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (s) => `${s.toFixed(2)} s`;
const rate = (bytes, s) => `${(bytes / MiB / s).toFixed(0)} MiB/s`;

/** Starts docker-registry instance `name` (bench, bench-auth) with `flags`; its host, URL and, with --htpasswd, credentials. */
function startOrigin(name = 'bench', flags = []) {
  execFileSync('bash', [path.join(root, 'tools/test-servers/docker-registry.sh'), 'start', name, ...flags], { stdio: ['ignore', 'ignore', 'inherit'] });
  const env = Object.fromEntries(
    readFileSync(path.join(process.env.KUIK_TEST_STATE_DIR ?? path.join(root, 'tmp/test-servers'), `docker-registry-${name}.env`), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const P = `DOCKER_REGISTRY_${name.toUpperCase().replace(/-/g, '_')}`;
  return { host: env[`${P}_HOST`], url: env[`${P}_URL`], username: env[`${P}_USERNAME`], password: env[`${P}_PASSWORD`] };
}

function stopOrigin(name) {
  execFileSync('bash', [path.join(root, 'tools/test-servers/docker-registry.sh'), 'stop', name], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * A TCP relay on loopback to `target` whose downstream (origin → client) bytes share one budget
 * of `mibps` MiB/s: each chunk books the link for its transfer time and the source pauses until
 * the link is free again. Upstream bytes (requests) pass unthrottled.
 */
function startRelay(target, mibps) {
  const [host, port] = target.split(':');
  const bytesPerMs = (mibps * MiB) / 1000;
  let linkFreeAt = 0;
  const server = createServer((client) => {
    const upstream = createConnection({ host, port: Number(port) });
    client.pipe(upstream);
    upstream.on('data', (chunk) => {
      const now = performance.now();
      linkFreeAt = Math.max(linkFreeAt, now) + chunk.length / bytesPerMs;
      if (!client.write(chunk) || linkFreeAt > now + 1) {
        upstream.pause();
        const resume = () => setTimeout(() => upstream.resume(), Math.max(0, linkFreeAt - performance.now()));
        if (client.writableNeedDrain) client.once('drain', resume);
        else resume();
      }
    });
    upstream.on('end', () => client.end());
    const close = () => (client.destroy(), upstream.destroy());
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ host: `127.0.0.1:${server.address().port}`, url: `http://127.0.0.1:${server.address().port}`, server })));
}

/** Starts a bundled app and resolves with the address from its "… listening" log line. */
function startApp(app, env) {
  const bundle = path.join(root, `dist/apps/${app}/main.js`);
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: npx nx run-many -p registry proxy -t build`);
  const child = spawn(process.execPath, [...(process.env.KUIK_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.join(process.env.KUIK_BENCH_PROF, app)}`] : []), bundle], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${app} exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const rec = JSON.parse(line);
        if (/listening$/.test(rec.msg)) resolve({ child, url: `http://${rec.addr}`, host: rec.addr });
      } catch {
        // not a log line
      }
    });
  });
}

/** Peak resident set size of a process so far (VmHWM), in MiB. */
const peakRssMiB = (pid) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
/** CPU seconds (user + system) a process has used so far. */
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

const agent = new Agent({ connections: 64, bodyTimeout: 120_000, headersTimeout: 120_000 });
const ACCEPT = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json';

/** Pulls manifest then blobs (3 in flight), discarding bytes; returns bytes received. `headers`: e.g. Authorization. */
async function pullImage(baseUrl, repo, ref, headers = {}) {
  const m = await request(`${baseUrl}/v2/${repo}/manifests/${ref}`, { dispatcher: agent, headers: { accept: ACCEPT, ...headers } });
  if (m.statusCode !== 200) throw new Error(`manifest ${baseUrl}/v2/${repo}: ${m.statusCode} ${await m.body.text()}`);
  const manifest = await m.body.json();
  const blobs = [manifest.config, ...manifest.layers];
  let bytes = 0;
  let next = 0;
  await Promise.all(
    [0, 1, 2].map(async () => {
      while (next < blobs.length) {
        const d = blobs[next++];
        const res = await request(`${baseUrl}/v2/${repo}/blobs/${d.digest}`, { dispatcher: agent, headers });
        if (res.statusCode !== 200) throw new Error(`blob ${d.digest}: ${res.statusCode}`);
        for await (const chunk of res.body) bytes += chunk.length;
        if (bytes === 0) throw new Error('empty blob');
      }
    }),
  );
  return bytes;
}

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  const out = await fn();
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, out };
}

async function waitCached(cache, repo, ref) {
  for (let i = 0; i < 6000; i++) {
    if (await cache.headManifest(repo, ref).catch(() => null)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${repo}:${ref} never reached the cache`);
}

try {
  const realOrigin = startOrigin();
  const originClient = new RegistryClient({ host: realOrigin.host, scheme: 'http' });
  // What the pullers and the proxy reach the origin through (the relay, when throttled).
  const origin = ORIGIN_MIBPS > 0 ? await startRelay(realOrigin.host, ORIGIN_MIBPS) : realOrigin;
  if (origin.server) origin.server.unref();
  const registry = await startApp('registry', {
    REGISTRY_HTTP_ADDR: '127.0.0.1:0',
    REGISTRY_HTTP_DEBUG_ADDR: '',
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: path.join(scratch, 'registry'),
    REGISTRY_LOG_ACCESSLOG_DISABLED: 'true',
  });
  const cache = new RegistryClient({ host: registry.host, scheme: 'http' });
  const proxy = await startApp('proxy', {
    PROXY_LISTEN: '127.0.0.1:0',
    PROXY_METRICSLISTEN: '127.0.0.1:0',
    PROXY_REGISTRY_URL: registry.url,
    PROXY_INSECUREREGISTRIES: origin.host,
    PROXY_DATADIR: path.join(scratch, 'proxy'),
    PROXY_LOG_ACCESSLOG: 'false',
  });
  const dashed = origin.host.replace(':', '-');
  console.log(`origin ${realOrigin.url} (docker-registry${ORIGIN_MIBPS > 0 ? `, reached through a ${ORIGIN_MIBPS} MiB/s relay at ${origin.url}` : ''}), cache ${registry.url} (kuik registry), proxy ${proxy.url}; ${LAYERS}×${LAYER_MIB} MiB layers, ${REPEAT} repetitions`);

  // One image at the origin; every cold run mounts its blobs into a fresh repository.
  const base = `bench/base${Date.now().toString(36)}`;
  const layers = [];
  for (let i = 0; i < LAYERS; i++) layers.push(await largeLayer(`${base}-${i}`, LAYER_MIB * MiB));
  const image = makeImage(layers);
  await pushImage(originClient, base, image, 'v1');
  let fresh = 0;
  const freshRepo = async () => {
    const repo = `${base}-${fresh++}`;
    for (const b of [image.config, ...image.layers]) await originClient.mountBlob(repo, b.digest, base);
    await originClient.putManifest(repo, 'v1', image.manifest.content, image.manifest.mediaType);
    return repo;
  };

  const results = { cold: [], direct: [], warm: [], registry: [] };
  // CPU seconds each of our processes spent on the cold and warm pulls through the proxy: on a
  // shared machine, where the time goes when wall-clock ratios are noisy.
  const cpu = { cold: { proxy: 0, registry: 0 }, warm: { proxy: 0, registry: 0 } };
  const cpuOf = async (phase, fn) => {
    const p0 = cpuSeconds(proxy.child.pid);
    const r0 = cpuSeconds(registry.child.pid);
    const out = await fn();
    cpu[phase].proxy += cpuSeconds(proxy.child.pid) - p0;
    cpu[phase].registry += cpuSeconds(registry.child.pid) - r0;
    return out;
  };
  let imageBytes = 0;
  for (let r = 0; r < REPEAT; r++) {
    const repo = await freshRepo();
    const d = await timed(() => pullImage(origin.url, repo, 'v1'));
    imageBytes = d.out;
    results.direct.push(d.s);
    results.cold.push((await cpuOf('cold', () => timed(() => pullImage(proxy.url, `${dashed}/${repo}`, 'v1')))).s);
    await cpuOf('cold', () => waitCached(cache, `${dashed}/${repo}`, 'v1'));
    results.registry.push((await timed(() => pullImage(registry.url, `${dashed}/${repo}`, 'v1'))).s);
    results.warm.push((await cpuOf('warm', () => timed(() => pullImage(proxy.url, `${dashed}/${repo}`, 'v1')))).s);
  }
  const line = (label, ours, peer, peerLabel) =>
    console.log(`${label.padEnd(12)} proxy ${fmt(ours).padStart(8)} (${rate(imageBytes, ours)})   ${peerLabel} ${fmt(peer).padStart(8)} (${rate(imageBytes, peer)})   ratio ${(ours / peer).toFixed(2)}`);
  console.log(`image: ${(imageBytes / MiB).toFixed(0)} MiB`);
  line('cold', median(results.cold), median(results.direct), 'origin direct  ');
  line('warm', median(results.warm), median(results.registry), 'registry direct');
  const perGiB = (sec) => `${((sec / REPEAT / imageBytes) * 1024 * MiB).toFixed(1)} CPU-s/GiB`;
  console.log(
    `cpu     cold (pull + cache fill): proxy ${perGiB(cpu.cold.proxy)}, registry ${perGiB(cpu.cold.registry)}; ` +
      `warm: proxy ${perGiB(cpu.warm.proxy)}, registry ${perGiB(cpu.warm.registry)}`,
  );

  // Fan-out: CLIENTS at once on a cold image, vs one client alone on another cold image.
  const soloRepo = await freshRepo();
  const solo = await timed(() => pullImage(proxy.url, `${dashed}/${soloRepo}`, 'v1'));
  const fanRepo = await freshRepo();
  const fanCpu0 = { bench: process.cpuUsage(), proxy: cpuSeconds(proxy.child.pid) };
  const fan = await timed(() => Promise.all(Array.from({ length: CLIENTS }, () => pullImage(proxy.url, `${dashed}/${fanRepo}`, 'v1'))));
  const benchCpu = process.cpuUsage(fanCpu0.bench);
  const fanCpu = { clients: (benchCpu.user + benchCpu.system) / 1e6, proxy: cpuSeconds(proxy.child.pid) - fanCpu0.proxy };
  const accessLog = readFileSync(path.join(process.env.KUIK_TEST_STATE_DIR ?? path.join(root, 'tmp/test-servers'), 'docker-registry-bench.access.log'), 'utf8');
  const originBlobGets = accessLog.split('\n').filter((l) => l.includes(`"GET /v2/${fanRepo}/blobs/`)).length;
  console.log(
    `fanout  ${CLIENTS} clients ${fmt(fan.s)} (${rate(imageBytes * CLIENTS, fan.s)} delivered)   1 client ${fmt(solo.s)}   ratio ${(fan.s / solo.s).toFixed(2)}` +
      ` (goal ≤ 1.5); origin blob GETs ${originBlobGets} for ${image.layers.length + 1} blobs`,
  );
  // The clients run on this machine too: their CPU and the proxy's, over the cores, bound the time.
  const cores = availableParallelism();
  console.log(
    `        fanout CPU: clients (this process) ${fanCpu.clients.toFixed(1)} CPU-s, proxy ${fanCpu.proxy.toFixed(1)} CPU-s; ` +
      `on ${cores} cores at least ${((fanCpu.clients + fanCpu.proxy) / cores).toFixed(2)} s, i.e. ratio ≥ ${((fanCpu.clients + fanCpu.proxy) / cores / solo.s).toFixed(2)} here`,
  );

  if (PRIVATE) {
    // The same image at an origin behind basic auth; the client presents the origin's credentials.
    const authOrigin = startOrigin('bench-auth', ['--htpasswd']);
    const auth = { authorization: `Basic ${Buffer.from(`${authOrigin.username}:${authOrigin.password}`).toString('base64')}` };
    const { StaticCredentials } = await import('../../libs/oci/src/client/index.js');
    const authClient = new RegistryClient({ host: authOrigin.host, scheme: 'http', credentials: new StaticCredentials({ [authOrigin.host]: { username: authOrigin.username, password: authOrigin.password } }) });
    const authProxy = await startApp('proxy', {
      PROXY_LISTEN: '127.0.0.1:0',
      PROXY_METRICSLISTEN: '127.0.0.1:0',
      PROXY_REGISTRY_URL: registry.url,
      PROXY_INSECUREREGISTRIES: authOrigin.host,
      PROXY_DATADIR: path.join(scratch, 'proxy-private'),
      PROXY_LOG_ACCESSLOG: 'false',
    });
    const privBase = `${base}-private`;
    await pushImage(authClient, privBase, image, 'v1');
    const authDashed = authOrigin.host.replace(':', '-');
    const priv = { cold: [], direct: [], warm: [], registry: [] };
    for (let r = 0; r < REPEAT; r++) {
      const repo = `${privBase}-${r}`;
      for (const b of [image.config, ...image.layers]) await authClient.mountBlob(repo, b.digest, privBase);
      await authClient.putManifest(repo, 'v1', image.manifest.content, image.manifest.mediaType);
      priv.direct.push((await timed(() => pullImage(authOrigin.url, repo, 'v1', auth))).s);
      priv.cold.push((await timed(() => pullImage(authProxy.url, `${authDashed}/${repo}`, 'v1', auth))).s);
      const cached = `kuik-private/${authDashed}/${repo}`;
      await waitCached(cache, cached, 'v1');
      priv.registry.push((await timed(() => pullImage(registry.url, cached, 'v1'))).s);
      priv.warm.push((await timed(() => pullImage(authProxy.url, `${authDashed}/${repo}`, 'v1', auth))).s);
    }
    const anonymous = await request(`${authProxy.url}/v2/${authDashed}/${privBase}-0/manifests/v1`, { dispatcher: agent, headers: { accept: ACCEPT } });
    await anonymous.body.dump();
    line('private cold', median(priv.cold), median(priv.direct), 'origin direct  ');
    line('private warm', median(priv.warm), median(priv.registry), 'registry direct');
    console.log(`        the cached private image, asked for without credentials: HTTP ${anonymous.statusCode}`);
    await authClient.close();
    stopOrigin('bench-auth');
  }

  if (BIG_MIB > 0) {
    const bigRepo = `${base}-big`;
    const big = await largeLayer(`${bigRepo}-layer`, BIG_MIB * MiB);
    const bigImage = makeImage([big]);
    await pushImage(originClient, bigRepo, bigImage, 'v1');
    await waitCached(cache, `${dashed}/${soloRepo}`, 'v1');
    const before = rssMiB(proxy.child.pid);
    let peakDuring = before;
    const sampler = setInterval(() => (peakDuring = Math.max(peakDuring, rssMiB(proxy.child.pid))), 50);
    const t = await timed(() => pullImage(proxy.url, `${dashed}/${bigRepo}`, 'v1'));
    clearInterval(sampler);
    console.log(
      `rss     ${BIG_MIB} MiB layer streamed cold in ${fmt(t.s)} (${rate(t.out, t.s)}): proxy RSS ${before.toFixed(0)} MiB before, ` +
        `${peakDuring.toFixed(0)} MiB peak during (process peak VmHWM ${peakRssMiB(proxy.child.pid).toFixed(0)} MiB)`,
    );
  }
  await Promise.all([originClient.close(), cache.close()]);
} finally {
  // Stop the servers before removing their files: a registry killed mid-write would log errors.
  await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => (c.once('exit', r), c.kill('SIGTERM'))))));
  await agent.close();
  rmSync(scratch, { recursive: true, force: true });
}
