#!/usr/bin/env node
// Builds the container image of one app as an OCI image layout, without a container daemon:
//   node tools/image/build.mjs <app> [--arch amd64,arm64] [--out dist/images/<app>] [--bundle DIR]
//                               [--no-layer-cache]
// Layers (each a deterministic tar: sorted entries, uid/gid fixed, mtime = SOURCE_DATE_EPOCH):
//   1. base   — glibc, libgcc, libstdc++ and CA certificates from Debian's packages, /etc/passwd
//               with the non-root user 65532, /tmp
//   2. node   — the Node runtime from the npm package node-linux-<arch>
//   3. app    — the esbuild bundle dist/apps/<app>/ (run `nx build <app>` first)
// The same inputs give the same digests: the bundle, image.json, the app's version, the Debian and
// Node versions, SOURCE_DATE_EPOCH (default 0), KUIK_IMAGE_REVISION (default: git HEAD) and
// KUIK_IMAGE_SOURCE (default: the origin remote). Base and node layers are cached by their inputs
// under ~/.cache/kuik/image-layers (checked against their digest on use; --no-layer-cache rebuilds).
// The layout's index.json names the multi-arch index with the app's version, so
// `skopeo copy --all oci:dist/images/<app>:<version> docker://…` (tools/image/publish.sh) pushes it.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { ARCHES, DEBIAN_PACKAGES, NODE_VERSION, debianPackages, nodeRuntime } from './inputs.mjs';
import { tarStream } from './tar.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const VALUED = ['--arch', '--out', '--bundle'];
const app = args.find((a, i) => !a.startsWith('--') && !VALUED.includes(args[i - 1]));
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
if (!app) {
  console.error('usage: node tools/image/build.mjs <app> [--arch amd64,arm64] [--out DIR] [--bundle DIR] [--no-layer-cache]');
  process.exit(2);
}
const arches = opt('arch', 'amd64,arm64').split(',');
const outDir = path.resolve(opt('out', path.join(root, 'dist/images', app)));
const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? 0);
const created = new Date(epoch * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const pkg = JSON.parse(readFileSync(path.join(root, 'apps', app, 'package.json'), 'utf8'));
const spec = JSON.parse(readFileSync(path.join(root, 'apps', app, 'image.json'), 'utf8'));
// --bundle: the esbuild output to package (default dist/apps/<app>; tests pass a snapshot of it).
const bundleDir = path.resolve(opt('bundle', path.join(root, 'dist/apps', app)));
if (!existsSync(path.join(bundleDir, 'main.js'))) {
  console.error(`${bundleDir}/main.js is missing: run "npx nx build ${app}" first`);
  process.exit(1);
}
const revision = process.env.KUIK_IMAGE_REVISION ?? gitRevision();
const layerCache = path.join(process.env.KUIK_CACHE_DIR || path.join(os.homedir(), '.cache/kuik'), 'image-layers');
// --no-layer-cache builds every layer from its inputs (the reproducibility test uses it).
const useLayerCache = !args.includes('--no-layer-cache');
const builderHash = sha256(['tar.mjs', 'inputs.mjs', 'build.mjs'].map((f) => readFileSync(path.join(root, 'tools/image', f))).join('\0'));
const NONROOT = 65532;

function gitRevision() {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}
/** The repository's web address (from the origin remote), for the source annotation. */
function gitSource() {
  try {
    const url = execFileSync('git', ['remote', 'get-url', 'origin'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    // git@host:owner/repo(.git) and https://user@host/owner/repo(.git) → https://host/owner/repo
    const scp = /^[^@/]+@([^:/]+):(.+)$/.exec(url);
    const https = scp ? `https://${scp[1]}/${scp[2]}` : url.replace(/^(ssh|git|https?):\/\/([^@/]+@)?/, 'https://');
    return https.replace(/\.git$/, '');
  } catch {
    return 'kuik';
  }
}
function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

// ---- layer contents ---------------------------------------------------------------------------
const dir = (p, mode = 0o755, owner = 0) => ({ path: p, type: 'dir', mode, uid: owner, gid: owner, mtime: epoch });
const text = (p, content, mode = 0o644) => {
  const buf = Buffer.from(content);
  return { path: p, type: 'file', mode, uid: 0, gid: 0, size: buf.length, content: buf, mtime: epoch };
};
const fromDisk = (p, source, mode) => {
  const st = lstatSync(source);
  if (st.isSymbolicLink()) return { path: p, type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: readlinkSync(source), mtime: epoch };
  return { path: p, type: 'file', mode: mode ?? (st.mode & 0o777), uid: 0, gid: 0, size: st.size, source, mtime: epoch };
};

/** Every parent directory of the given entries, then the entries, sorted by path. */
function withParents(entries) {
  const byPath = new Map(entries.map((e) => [e.path, e]));
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!byPath.has(p)) byPath.set(p, dir(p));
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function baseEntries(arch, debs) {
  const { triplet } = ARCHES[arch];
  const entries = [
    text('etc/passwd', `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT}:${NONROOT}:nonroot:/home/nonroot:/sbin/nologin\n`),
    text('etc/group', `root:x:0:\nnonroot:x:${NONROOT}:\n`),
    text('etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n'),
    dir('home/nonroot', 0o700, NONROOT),
    dir('tmp', 0o1777),
    dir('root', 0o700),
  ];
  // Shared libraries only: the top level of lib/<triplet>, usr/lib/<triplet> and the loader links.
  for (const name of DEBIAN_PACKAGES.filter((n) => n !== 'ca-certificates')) {
    const r = debs[name].dir;
    for (const rel of [`lib/${triplet}`, `usr/lib/${triplet}`, 'lib64', 'lib']) {
      const d = path.join(r, rel);
      if (!existsSync(d)) continue;
      for (const f of readdirSync(d).sort()) {
        const full = path.join(d, f);
        const st = lstatSync(full);
        if (st.isDirectory() || !/\.so(\.|$)/.test(f)) continue;
        entries.push(fromDisk(`${rel}/${f}`, full));
      }
    }
  }
  const caDir = path.join(debs['ca-certificates'].dir, 'usr/share/ca-certificates/mozilla');
  const bundle = readdirSync(caDir).filter((f) => f.endsWith('.crt')).sort().map((f) => readFileSync(path.join(caDir, f), 'utf8').trim() + '\n').join('');
  entries.push(text('etc/ssl/certs/ca-certificates.crt', bundle));
  return withParents(dedupe(entries));
}

function dedupe(entries) {
  const seen = new Map();
  for (const e of entries) seen.set(e.path, e);
  return [...seen.values()];
}

function nodeEntries(arch) {
  const rt = nodeRuntime(arch);
  return withParents([fromDisk('usr/local/bin/node', path.join(rt, 'bin/node'), 0o755), fromDisk('usr/local/share/doc/node/LICENSE', path.join(rt, 'LICENSE'), 0o644)]);
}

function appEntries() {
  const files = readdirSync(bundleDir).filter((f) => f !== 'meta.json').sort();
  const entries = files.map((f) => fromDisk(`app/${f}`, path.join(bundleDir, f), 0o644));
  for (const v of spec.volumes ?? []) entries.push(dir(v.replace(/^\//, ''), 0o755, NONROOT));
  return withParents(entries);
}

// ---- blobs ------------------------------------------------------------------------------------
const blobsDir = path.join(outDir, 'blobs/sha256');

async function writeLayer(entries, cacheKey) {
  const cached = useLayerCache && cacheKey ? path.join(layerCache, `${cacheKey}.json`) : undefined;
  if (cached && existsSync(cached)) {
    const meta = JSON.parse(readFileSync(cached, 'utf8'));
    const blob = path.join(layerCache, `${cacheKey}.tar.gz`);
    // A cached layer is used only when its bytes still have the recorded digest.
    if (existsSync(blob) && (await fileDigest(blob)) === meta.digest) {
      copyFileSync(blob, path.join(blobsDir, meta.digest.slice(7)));
      return meta;
    }
  }
  const tmp = path.join(blobsDir, `.layer-${process.pid}-${Math.random().toString(16).slice(2)}`);
  const diff = createHash('sha256');
  const comp = createHash('sha256');
  let size = 0;
  await pipeline(
    Readable.from(tarStream(entries)),
    new Transform({ transform: (c, _e, cb) => (diff.update(c), cb(null, c)) }),
    createGzip({ level: 9 }),
    new Transform({ transform: (c, _e, cb) => (comp.update(c), (size += c.length), cb(null, c)) }),
    createWriteStream(tmp),
  );
  const meta = { digest: `sha256:${comp.digest('hex')}`, diffID: `sha256:${diff.digest('hex')}`, size };
  renameSync(tmp, path.join(blobsDir, meta.digest.slice(7)));
  if (cached) {
    // Temp-then-rename: builds running at the same time (tests, nx targets) share the cache.
    mkdirSync(layerCache, { recursive: true });
    const suffix = `.tmp-${process.pid}-${Math.random().toString(16).slice(2)}`;
    copyFileSync(path.join(blobsDir, meta.digest.slice(7)), `${path.join(layerCache, `${cacheKey}.tar.gz`)}${suffix}`);
    renameSync(`${path.join(layerCache, `${cacheKey}.tar.gz`)}${suffix}`, path.join(layerCache, `${cacheKey}.tar.gz`));
    writeFileSync(`${cached}${suffix}`, JSON.stringify(meta));
    renameSync(`${cached}${suffix}`, cached);
  }
  return meta;
}

async function fileDigest(file) {
  const h = createHash('sha256');
  for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(c);
  return `sha256:${h.digest('hex')}`;
}

function writeJson(obj) {
  const buf = Buffer.from(JSON.stringify(obj));
  const digest = `sha256:${sha256(buf)}`;
  writeFileSync(path.join(blobsDir, digest.slice(7)), buf);
  return { digest, size: buf.length };
}

// ---- assemble ---------------------------------------------------------------------------------
rmSync(outDir, { recursive: true, force: true });
mkdirSync(blobsDir, { recursive: true });
const annotations = {
  'org.opencontainers.image.title': `kuik-${app}`,
  'org.opencontainers.image.description': pkg.description ?? `kuik ${app}`,
  'org.opencontainers.image.version': pkg.version,
  'org.opencontainers.image.revision': revision,
  'org.opencontainers.image.source': process.env.KUIK_IMAGE_SOURCE ?? gitSource(),
  'org.opencontainers.image.licenses': 'Apache-2.0',
  'org.opencontainers.image.created': created,
};
const manifests = [];
const report = [];
for (const arch of arches) {
  if (!ARCHES[arch]) throw new Error(`unknown architecture ${arch} (known: ${Object.keys(ARCHES).join(', ')})`);
  const debs = debianPackages(arch);
  const debVersions = Object.fromEntries(Object.entries(debs).map(([k, v]) => [k, v.version]));
  const base = await writeLayer(baseEntries(arch, debs), `base-${arch}-${sha256(JSON.stringify({ debVersions, builderHash, epoch }))}`);
  const node = await writeLayer(nodeEntries(arch), `node-${arch}-${NODE_VERSION}-${sha256(builderHash + epoch)}`);
  const appLayer = await writeLayer(appEntries(), undefined);
  const layers = [base, node, appLayer];
  const config = writeJson({
    created,
    architecture: arch,
    os: 'linux',
    config: {
      User: `${NONROOT}:${NONROOT}`,
      Entrypoint: ['/usr/local/bin/node', '/app/main.js'],
      WorkingDir: '/app',
      Env: [
        'PATH=/usr/local/bin:/usr/bin:/bin',
        'NODE_ENV=production',
        'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
        ...Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
      ],
      ExposedPorts: Object.fromEntries((spec.ports ?? []).map((p) => [p, {}])),
      Volumes: Object.fromEntries((spec.volumes ?? []).map((v) => [v, {}])),
      Labels: annotations,
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) },
    history: [
      { created, created_by: `debian: ${Object.entries(debVersions).map(([k, v]) => `${k}=${v}`).join(' ')}` },
      { created, created_by: `node ${NODE_VERSION} (npm node-linux-${ARCHES[arch].npm})` },
      { created, created_by: `kuik ${app} ${pkg.version} bundle` },
    ],
  });
  const manifest = writeJson({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
    annotations,
  });
  manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, platform: { architecture: arch, os: 'linux' } });
  report.push({ arch, manifest: manifest.digest, compressedBytes: layers.reduce((n, l) => n + l.size, 0) + config.size });
}
const index = writeJson({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests, annotations });
writeFileSync(path.join(outDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
writeFileSync(
  path.join(outDir, 'index.json'),
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    // The multi-arch index under the version, and each platform's manifest under <version>-<arch>
    // (tools such as umoci unpack a single-platform manifest).
    manifests: [
      { mediaType: 'application/vnd.oci.image.index.v1+json', ...index, annotations: { 'org.opencontainers.image.ref.name': pkg.version } },
      ...manifests.map(({ platform, ...m }) => ({ ...m, platform, annotations: { 'org.opencontainers.image.ref.name': `${pkg.version}-${platform.architecture}` } })),
    ],
  }),
);
const summary = { app, version: pkg.version, layout: path.relative(root, outDir), index: index.digest, platforms: report };
writeFileSync(path.join(outDir, 'build-report.json'), JSON.stringify(summary, null, 2));
for (const r of report) console.log(`kuik-${app}:${pkg.version} linux/${r.arch} ${r.manifest} ${(r.compressedBytes / 1e6).toFixed(1)} MB compressed`);
console.log(`kuik-${app}:${pkg.version} index ${index.digest} -> ${summary.layout}`);
