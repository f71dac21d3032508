#!/usr/bin/env node
// Controller benchmark against the real kube-apiserver (bash tools/test-servers/kube-apiserver.sh start):
// N pods (default 2,000) using M distinct images (default 500), created through the admission
// webhook of a controller process (the built bundle). Reports:
//   - time from the first pod until every CachedImage exists (and until all are Ready when the
//     origin docker-registry runs: bash tools/test-servers/docker-registry.sh start origin),
//   - controller API requests per pod (its kube_api_requests_total, without the Lease renewals,
//     which the bench counts on a watch of the Lease: they go on at 1 per retryPeriod whatever
//     the load),
//   - webhook latency p50/p99: direct AdmissionReview round trips over HTTPS (idle, then one at a
//     time while the pods are created and reconciled), and the cost the webhook adds to pod
//     creation through the API server (peer: the same pods in a namespace the webhook does not
//     select, measured in the same run),
//   - the webhook's latency as the API server itself measures it (its
//     apiserver_admission_webhook_admission_duration_seconds histogram, read before and after each
//     phase): while the pods are created, and in a quiet phase once the controller settled, where
//     --quiet-pods pods are created one at a time, alternating with a namespace the webhook does
//     not select (the peer: pod creation with and without the webhook, same conditions),
//   - controller RSS (peak while working).
// Usage: npx nx build controller && node tools/bench/controller.mjs [--pods 2000] [--images 500] [--concurrency 32]
//        [--webhook-requests 4000] [--quiet-pods 300] [--quiet-gap-ms 0] [--timeout-seconds 900]
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { KubeConfig } from '@kubernetes/client-node';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({
  options: {
    pods: { type: 'string', default: '2000' },
    images: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '32' },
    'webhook-requests': { type: 'string', default: '4000' },
    'quiet-pods': { type: 'string', default: '300' },
    'quiet-gap-ms': { type: 'string', default: '0' },
    'timeout-seconds': { type: 'string', default: '900' },
  },
});
const TIMEOUT_MS = Number(args['timeout-seconds']) * 1000;
const PODS = Number(args.pods);
const IMAGES = Number(args.images);
const QUIET_PODS = Number(args['quiet-pods']);
const QUIET_GAP_MS = Number(args['quiet-gap-ms']);
const CONCURRENCY = Number(args.concurrency);
const stateDir = process.env.KUIK_TEST_STATE_DIR ?? path.join(root, 'tmp/test-servers');

function serverEnv(name, required) {
  const f = path.join(stateDir, `${name}.env`);
  if (!existsSync(f)) {
    if (!required) return undefined;
    console.error(`test server ${name} is not running: bash tools/test-servers/${name.startsWith('docker-registry') ? 'docker-registry.sh start origin' : `${name}.sh start`}`);
    process.exit(2);
  }
  return Object.fromEntries(readFileSync(f, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

// --- Kubernetes API ----------------------------------------------------------------------
const kubeEnv = serverEnv('kube-apiserver', true);
const kc = new KubeConfig();
kc.loadFromFile(kubeEnv.KUBECONFIG);
const base = new URL(kc.getCurrentCluster().server);
const tlsOpts = {};
await kc.applyToHTTPSOptions(tlsOpts);
const agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: tlsOpts.ca, cert: tlsOpts.cert, key: tlsOpts.key });

function api(method, p, body, contentType = 'application/json') {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = https.request(new URL(p, base), { method, agent, headers: { ...tlsOpts.headers, Accept: 'application/json', ...(payload ? { 'Content-Type': contentType, 'Content-Length': payload.length } : {}) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const json = text ? JSON.parse(text) : undefined;
        if (res.statusCode >= 300 && !(method === 'DELETE' && res.statusCode === 404)) reject(new Error(`${method} ${p}: ${res.statusCode} ${json?.message ?? ''}`));
        else resolve(json);
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () => new Promise((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
const pct = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };
async function pool(n, limit, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => { while (next < n) await fn(next++); }));
}

// --- origin images (optional) -------------------------------------------------------------
const origin = serverEnv('docker-registry-origin', false);
const run = randomBytes(3).toString('hex');
let imageHost = '127.0.0.1:9'; // nothing listens there: CachedImages exist, caching fails locally
let cacheRegistry;
if (origin) {
  imageHost = origin.DOCKER_REGISTRY_ORIGIN_HOST;
  const ob = origin.DOCKER_REGISTRY_ORIGIN_URL;
  // One tiny image pushed once, tagged M times: the bench measures the controller, not copying.
  const blob = async (repo, content) => {
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const s = await fetch(`${ob}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const loc = new URL(s.headers.get('location'), ob);
    loc.searchParams.set('digest', digest);
    await fetch(loc, { method: 'PUT', body: content });
    return { digest, size: content.length };
  };
  const repoFor = (i) => `kuik-bench/img-${i}`;
  process.stdout.write(`pushing ${IMAGES} images to the origin… `);
  const t = Date.now();
  await pool(IMAGES, 16, async (i) => {
    const repo = repoFor(i);
    const config = await blob(repo, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })));
    const layer = await blob(repo, Buffer.alloc(1024, 7));
    const m = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }] };
    await fetch(`${ob}/v2/${repo}/manifests/${run}`, { method: 'PUT', body: JSON.stringify(m), headers: { 'Content-Type': m.mediaType } });
  });
  console.log(`${Date.now() - t} ms`);
  // The cache registry: a second docker-registry.
  const dir = mkdtempSync(path.join(tmpdir(), 'kuik-bench-cache-'));
  const port = await freePort();
  writeFileSync(path.join(dir, 'config.yml'), `version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: ${dir}/s}, delete: {enabled: true}}\nhttp: {addr: 127.0.0.1:${port}, secret: bench}\n`);
  const env = { ...process.env };
  delete env.AWS_CA_BUNDLE;
  const child = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore', env });
  cacheRegistry = { url: `http://127.0.0.1:${port}`, stop: () => { child.kill(); rmSync(dir, { recursive: true, force: true }); } };
  for (let i = 0; i < 100 && !(await fetch(`${cacheRegistry.url}/v2/`).then((r) => r.ok, () => false)); i++) await sleep(100);
}
const imageOf = (i) => `${imageHost}/kuik-bench/img-${i}:${run}`;

// --- controller ---------------------------------------------------------------------------
const main = path.join(root, 'dist/apps/controller/main.js');
if (!existsSync(main)) {
  console.error('build the controller first: npx nx build controller');
  process.exit(2);
}
const ns = `kuik-bench-${run}`;
const sysNs = `kuik-bench-sys-${run}`;
const baselineNs = `kuik-bench-base-${run}`;
for (const n of [ns, sysNs, baselineNs]) {
  await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } });
  await api('POST', `/api/v1/namespaces/${n}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
}
for (const f of ['cachedimages.kuik.enix.io.yaml', 'repositories.kuik.enix.io.yaml']) {
  const crd = JSON.parse(spawnSync(process.execPath, ['-e', `const y=require('yaml');process.stdout.write(JSON.stringify(y.parse(require('fs').readFileSync(${JSON.stringify(path.join(root, 'apps/controller/crds', f))},'utf8'))))`], { cwd: root, encoding: 'utf8' }).stdout);
  await api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd).catch(() => undefined);
}
const opsPort = await freePort();
const webhookPort = await freePort();
const webhookName = `kuik-bench-${run}`;
// Unique, so that the API server's histogram (labelled by webhook name) holds this run's calls only.
const webhookHookName = `pods-${run}.bench.kuik.enix.io`;
const cfgDir = path.join(root, 'tmp/bench');
mkdirSync(cfgDir, { recursive: true });
const cfgFile = path.join(cfgDir, 'controller-config.json');
writeFileSync(cfgFile, JSON.stringify({
  namespace: sysNs,
  identity: 'bench',
  log: { level: 'error' },
  ops: { listen: `127.0.0.1:${opsPort}` },
  webhook: { listen: `127.0.0.1:${webhookPort}`, tls: { mode: 'self-managed', webhookConfigurationName: webhookName, extraHosts: ['127.0.0.1'] } },
  registry: { url: cacheRegistry?.url ?? 'http://127.0.0.1:9', insecureRegistries: [imageHost] },
  cacheFill: { gracePeriod: '0s' },
  // The chart's timings (15s/10s/2s): a fresh Lease is acquired at once, renewals every 2 s.
  leaderElection: { leaseDuration: '15s', renewDeadline: '10s', retryPeriod: '2s' },
  kubeApi: { kubeconfig: kubeEnv.KUBECONFIG },
}));
const controller = spawn(process.execPath, [main, '--config', cfgFile], { stdio: ['ignore', 'ignore', 'inherit'] });
const ops = `http://127.0.0.1:${opsPort}`;
const metrics = async () => (await fetch(`${ops}/metrics`)).text();
const metricSum = (text, name) => text.split('\n').filter((l) => l.startsWith(name)).reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
let rssPeak = 0;
const rssSampler = setInterval(async () => { try { rssPeak = Math.max(rssPeak, metricSum(await metrics(), 'process_resident_memory_bytes')); } catch { /* starting */ } }, 500);

await api('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
  apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: webhookName },
  webhooks: [{
    name: webhookHookName, admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore', reinvocationPolicy: 'IfNeeded', timeoutSeconds: 10,
    clientConfig: { url: `https://127.0.0.1:${webhookPort}/mutate` },
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
  }],
});
// Lease renewals, counted from the API server's side (one successful PUT each).
let leaseWrites = 0;
const leaseWatch = https.get(new URL(`/apis/coordination.k8s.io/v1/namespaces/${sysNs}/leases?watch=1&fieldSelector=metadata.name%3Dkuik-controller`, base), { agent, headers: { ...tlsOpts.headers, Accept: 'application/json' } }, (res) => {
  let buf = '';
  res.on('data', (c) => {
    buf += c;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      if (JSON.parse(buf.slice(0, nl)).type === 'MODIFIED') leaseWrites++;
      buf = buf.slice(nl + 1);
    }
  });
  res.on('error', () => undefined);
});
leaseWatch.on('error', () => undefined);
process.stdout.write('waiting for the controller (leader, TLS, caBundle)… ');
for (const started = performance.now(); ; ) {
  if (controller.exitCode !== null || controller.signalCode !== null) throw new Error(`the controller exited (${controller.exitCode ?? controller.signalCode})`);
  if (performance.now() - started > 120_000) throw new Error('the controller did not become ready and lead within 120 s');
  const ready = await fetch(`${ops}/readyz`).then((r) => r.ok, () => false);
  const mwc = await api('GET', `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${webhookName}`);
  if (ready && mwc.webhooks[0].clientConfig.caBundle && (await metrics()).includes('is_leader 1')) break;
  await sleep(200);
}
console.log('ok');
const caBundle = Buffer.from((await api('GET', `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${webhookName}`)).webhooks[0].clientConfig.caBundle, 'base64').toString();
await sleep(3000); // the API server's webhook client picks up the caBundle

// The API server's own histogram of this webhook's calls: cumulative counts by bucket bound (s).
async function apiserverWebhookBuckets() {
  const text = await new Promise((resolve, reject) => {
    https.get(new URL('/metrics', base), { agent, headers: { ...tlsOpts.headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      res.on('error', reject);
    }).on('error', reject);
  });
  const buckets = new Map();
  for (const l of text.split('\n')) {
    if (!l.startsWith('apiserver_admission_webhook_admission_duration_seconds_bucket{') || !l.includes(`name="${webhookHookName}"`)) continue;
    const m = /[{,]le="([^"]+)"[^}]*\} (\S+)$/.exec(l);
    if (m) buckets.set(m[1], (buckets.get(m[1]) ?? 0) + Number(m[2]));
  }
  return buckets;
}
/** What the API server saw between two readings: calls, and the share of them within each bound. */
function apiserverWebhookDelta(before, after) {
  const rows = [...after].map(([le, n]) => [le === '+Inf' ? Infinity : Number(le), n - (before.get(le) ?? 0)]).sort((a, b) => a[0] - b[0]);
  const calls = rows.at(-1)?.[1] ?? 0;
  const within = Object.fromEntries(rows.filter(([le]) => Number.isFinite(le) && le <= 0.1).map(([le, n]) => [`${le * 1000}ms`, calls ? +(n / calls).toFixed(4) : null]));
  const atMost = (q) => { const hit = rows.find(([, n]) => n >= q * calls); return hit && calls ? hit[0] * 1000 : undefined; };
  return { calls, shareWithin: within, p50AtMostMs: atMost(0.5), p99AtMostMs: atMost(0.99) };
}

// --- 1. webhook direct round trips --------------------------------------------------------
const whAgent = new https.Agent({ keepAlive: true, ca: caBundle, maxSockets: 8 });
const review = (i) => JSON.stringify({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: { uid: `u-${i}`, operation: 'CREATE', namespace: ns, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
    object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: ns, labels: { app: 'x' } }, spec: { containers: [{ name: 'app', image: imageOf(i % IMAGES), imagePullPolicy: 'IfNotPresent' }, { name: 'sidecar', image: 'nginx:1.27', imagePullPolicy: 'IfNotPresent' }] } } },
});
const direct = [];
await pool(Number(args['webhook-requests']), 8, async (i) => {
  const body = review(i);
  const t = performance.now();
  await new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: webhookPort, path: '/mutate', method: 'POST', agent: whAgent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end(body);
  });
  direct.push(performance.now() - t);
});

// --- 2. pods through the API server: baseline namespace (no webhook), then the measured one --
const podBody = (name, i) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: imageOf(i % IMAGES), imagePullPolicy: 'IfNotPresent' }] } });
const baseline = [];
await pool(PODS, CONCURRENCY, async (i) => { const t = performance.now(); await api('POST', `/api/v1/namespaces/${baselineNs}/pods`, podBody(`p-${i}`, i)); baseline.push(performance.now() - t); });

// While the controller works (pods admitted, informers and reconcilers busy): one round trip at a
// time, every 5 ms, on a connection of its own — what the API server sees under load. From a
// thread of its own: this one is busy creating pods.
const prober = new Worker(`
  const { parentPort, workerData: w } = require('node:worker_threads');
  const https = require('node:https');
  const agent = new https.Agent({ keepAlive: true, ca: w.ca, maxSockets: 1 });
  const latencies = [];
  let probing = true;
  parentPort.once('message', () => { probing = false; });
  (async () => {
    while (probing) {
      const t = performance.now();
      await new Promise((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port: w.port, path: '/mutate', method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(w.body) } }, (res) => { res.resume(); res.on('end', resolve); });
        req.on('error', reject);
        req.end(w.body);
      });
      latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
    agent.destroy();
    parentPort.postMessage(latencies);
  })();
`, { eval: true, workerData: { port: webhookPort, ca: caBundle, body: review(0) } });
const proberDone = new Promise((resolve, reject) => { prober.once('message', resolve); prober.once('error', reject); });

const workRequests = async () => metricSum(await metrics(), 'kube_image_keeper_controller_kube_api_requests_total') - leaseWrites;
const reqBefore = await workRequests();
const apiserverBeforeLoad = await apiserverWebhookBuckets();
const t0 = performance.now();
const withWebhook = [];
let rewritten = 0;
await pool(PODS, CONCURRENCY, async (i) => {
  const t = performance.now();
  const p = await api('POST', `/api/v1/namespaces/${ns}/pods`, podBody(`p-${i}`, i));
  withWebhook.push(performance.now() - t);
  if (p.spec.containers[0].image.startsWith('localhost:7439/')) rewritten++;
});
const createdMs = performance.now() - t0;
const apiserverUnderLoad = apiserverWebhookDelta(apiserverBeforeLoad, await apiserverWebhookBuckets());

const expected = new Set(Array.from({ length: IMAGES }, (_, i) => `${imageHost.replace(':', '-')}-kuik-bench-img-${i}-${run}`));
let allExistMs;
let allReadyMs;
for (;;) {
  const list = await api('GET', '/apis/kuik.enix.io/v1alpha1/cachedimages');
  const mine = list.items.filter((c) => expected.has(c.metadata.name));
  if (allExistMs === undefined && mine.length === IMAGES) allExistMs = performance.now() - t0;
  if (mine.length === IMAGES && mine.every((c) => c.status?.usedBy?.count === PODS / IMAGES) && (!origin || mine.every((c) => c.status?.phase === 'Ready'))) {
    allReadyMs = performance.now() - t0;
    break;
  }
  if (performance.now() - t0 > TIMEOUT_MS) {
    console.error(`timed out after ${TIMEOUT_MS / 1000} s waiting for CachedImages (${mine.length}/${IMAGES} exist)`);
    break;
  }
  await sleep(250);
}
// Quiet period: the controller has finished its writes when its request counter, less the
// Lease renewals, stops moving for 3 s (bounded: a controller that never settles is reported).
let reqAfter = await workRequests();
const quietDeadline = performance.now() + 120_000;
for (let still = 0; still < 6 && performance.now() < quietDeadline;) {
  await sleep(500);
  const n = await workRequests();
  still = n === reqAfter ? still + 1 : 0;
  reqAfter = n;
}
const settled = performance.now() < quietDeadline;
prober.postMessage('stop');
const underLoad = await proberDone;

// --- 3. quiet: the controller settled; pods one at a time, alternating with the baseline namespace --
const quietBefore = await apiserverWebhookBuckets();
const quietWith = [];
const quietWithout = [];
for (let i = 0; i < QUIET_PODS; i++) {
  for (const [namespace, into] of i % 2 ? [[ns, quietWith], [baselineNs, quietWithout]] : [[baselineNs, quietWithout], [ns, quietWith]]) {
    const t = performance.now();
    await api('POST', `/api/v1/namespaces/${namespace}/pods`, podBody(`q-${i}`, i));
    into.push(performance.now() - t);
    if (QUIET_GAP_MS > 0) await sleep(QUIET_GAP_MS);
  }
}
const apiserverQuiet = apiserverWebhookDelta(quietBefore, await apiserverWebhookBuckets());
const finalMetrics = await metrics();
clearInterval(rssSampler);
const rssNow = metricSum(finalMetrics, 'process_resident_memory_bytes');

// Time inside the webhook handler (its histogram, every request of the run): the upper bound
// of the bucket holding the quantile.
function histogramQuantile(text, name, q) {
  const buckets = new Map();
  for (const l of text.split('\n')) {
    const m = l.startsWith(`${name}_bucket{`) && /[{,]le="([^"]+)"[^}]*\} (\S+)$/.exec(l);
    if (m) buckets.set(m[1], (buckets.get(m[1]) ?? 0) + Number(m[2]));
  }
  const sorted = [...buckets].map(([le, n]) => [le === '+Inf' ? Infinity : Number(le), n]).sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  const hit = sorted.find(([, n]) => n >= q * total);
  return hit && total ? hit[0] * 1000 : undefined;
}
const handlerMetric = 'kube_image_keeper_controller_webhook_request_duration_seconds';

const result = {
  pods: PODS,
  images: IMAGES,
  concurrency: CONCURRENCY,
  originImagesCached: !!origin,
  podsRewritten: rewritten,
  podCreationSeconds: +(createdMs / 1000).toFixed(2),
  allCachedImagesExistSeconds: +(allExistMs / 1000).toFixed(2),
  allCachedImagesUpToDateSeconds: +(allReadyMs / 1000).toFixed(2),
  apiRequestsPerPod: +((reqAfter - reqBefore) / PODS).toFixed(2),
  controllerSettled: settled,
  webhookDirectMs: { p50: +pct(direct, 0.5).toFixed(2), p99: +pct(direct, 0.99).toFixed(2), requests: direct.length },
  webhookDirectUnderLoadMs: { p50: +pct(underLoad, 0.5).toFixed(2), p99: +pct(underLoad, 0.99).toFixed(2), max: +Math.max(...underLoad).toFixed(2), requests: underLoad.length },
  webhookHandlerMsAtMost: { p50: histogramQuantile(finalMetrics, handlerMetric, 0.5), p99: histogramQuantile(finalMetrics, handlerMetric, 0.99) },
  podCreateMs: {
    withWebhook: { p50: +pct(withWebhook, 0.5).toFixed(1), p99: +pct(withWebhook, 0.99).toFixed(1) },
    withoutWebhook: { p50: +pct(baseline, 0.5).toFixed(1), p99: +pct(baseline, 0.99).toFixed(1) },
    ratioP50: +(pct(withWebhook, 0.5) / pct(baseline, 0.5)).toFixed(2),
  },
  apiserverWebhookUnderLoad: apiserverUnderLoad,
  apiserverWebhookQuiet: apiserverQuiet,
  podCreateQuietMs: QUIET_PODS > 0 ? {
    withWebhook: { p50: +pct(quietWith, 0.5).toFixed(2), p99: +pct(quietWith, 0.99).toFixed(2) },
    withoutWebhook: { p50: +pct(quietWithout, 0.5).toFixed(2), p99: +pct(quietWithout, 0.99).toFixed(2) },
    addedP50: +(pct(quietWith, 0.5) - pct(quietWithout, 0.5)).toFixed(2),
  } : undefined,
  controllerRssMiB: { peak: +(rssPeak / 2 ** 20).toFixed(1), end: +(rssNow / 2 ** 20).toFixed(1) },
};
console.log(JSON.stringify(result, null, 2));
writeFileSync(path.join(cfgDir, 'controller-result.json'), JSON.stringify(result, null, 2) + '\n');

// --- clean up -----------------------------------------------------------------------------
controller.kill('SIGTERM');
await new Promise((r) => controller.once('exit', r));
await api('DELETE', `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${webhookName}`);
for (const n of [ns, baselineNs]) await api('DELETE', `/api/v1/namespaces/${n}/pods?gracePeriodSeconds=0`);
const leftovers = (await api('GET', '/apis/kuik.enix.io/v1alpha1/cachedimages')).items.filter((c) => expected.has(c.metadata.name));
await pool(leftovers.length, 16, async (i) => {
  const name = leftovers[i].metadata.name;
  await api('PATCH', `/apis/kuik.enix.io/v1alpha1/cachedimages/${name}`, { metadata: { finalizers: null } }, 'application/merge-patch+json').catch(() => undefined);
  await api('DELETE', `/apis/kuik.enix.io/v1alpha1/cachedimages/${name}`).catch(() => undefined);
});
const repos = (await api('GET', '/apis/kuik.enix.io/v1alpha1/repositories')).items.filter((r) => r.spec.name.startsWith(`${imageHost}/kuik-bench/`));
await pool(repos.length, 16, async (i) => api('DELETE', `/apis/kuik.enix.io/v1alpha1/repositories/${repos[i].metadata.name}`).catch(() => undefined));
for (const n of [ns, sysNs, baselineNs]) await api('DELETE', `/api/v1/namespaces/${n}`).catch(() => undefined);
leaseWatch.destroy();
cacheRegistry?.stop();
agent.destroy();
whAgent.destroy();
process.exit(0);

