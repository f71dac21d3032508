// Real clients against the registry run from its bundle (filesystem storage), with Debian's
// docker-registry as the peer: skopeo round trips of a umoci-built multi-arch image with every
// digest unchanged, umoci layouts pushed and pulled back, crane's everyday commands, and
// containerd pulling and unpacking an image from the registry as a plain-HTTP host.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, requireServer } from '@kuik/testing';
import { buildLayout, closure, crane, fetchManifest, skopeoCopy, umoci } from './support/images.js';
import { run, startDockerRegistry, startRegistryProcess, tempDir, type DockerRegistry, type RegistryProcess } from './support/tools.js';

// Every test moves whole images through real tools.
const TIMEOUT = 180_000;

let work: string;
let ours: RegistryProcess;
let origin: DockerRegistry;
let layout: string;
const runId = Date.now().toString(36);
const repo = (name: string) => `clients-${runId}/${name}`;

beforeAll(async () => {
  work = tempDir('clients');
  origin = await startDockerRegistry('registry-clients');
  ours = await startRegistryProcess(path.join(work, 'data'));
  layout = path.join(work, 'layout');
  await buildLayout(layout, ['amd64', 'arm64'], { 'usr/share/kuik/hello.txt': 'hello from a umoci layer\n' });
}, TIMEOUT);

afterAll(async () => {
  expect(await ours?.stop()).toBe(0);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('skopeo', () => {
  it(
    'copies a multi-arch image from docker-registry into the registry and back with every digest unchanged',
    async () => {
      // Into docker-registry: the index and both platforms, from the umoci layout.
      const name = repo('multi');
      await skopeoCopy(`oci:${layout}:multi`, `docker://${origin.host}/${name}:multi`, '--all');
      const source = await fetchManifest(origin.url, name, 'multi');
      expect(source.json.manifests?.map((m) => m.platform?.architecture)).toEqual(['amd64', 'arm64']);
      const sourceClosure = await closure(origin.url, name, 'multi');

      await skopeoCopy(`docker://${origin.host}/${name}:multi`, `docker://${ours.host}/${name}:multi`, '--all');
      const copied = await fetchManifest(ours.url, name, 'multi');
      expect(copied.digest).toBe(source.digest);
      expect(copied.bytes.equals(source.bytes)).toBe(true);
      expect(copied.mediaType).toBe('application/vnd.oci.image.index.v1+json');
      expect(await closure(ours.url, name, 'multi')).toEqual(sourceClosure);
      for (const blob of sourceClosure.blobs) expect((await fetch(`${ours.url}/v2/${name}/blobs/${blob}`, { method: 'HEAD' })).status).toBe(200);
      // Each platform resolves by digest in ours, as a client picking its platform would ask.
      for (const child of source.json.manifests!) expect((await fetchManifest(ours.url, name, child.digest)).digest).toBe(child.digest);

      // And back, into a new repository of docker-registry.
      const back = repo('multi-back');
      await skopeoCopy(`docker://${ours.host}/${name}:multi`, `docker://${origin.host}/${back}:multi`, '--all');
      expect((await fetchManifest(origin.url, back, 'multi')).digest).toBe(source.digest);
      expect(await closure(origin.url, back, 'multi')).toEqual(sourceClosure);
    },
    TIMEOUT,
  );

  it(
    'pushes umoci layouts and pulls them back into a layout that umoci unpacks',
    async () => {
      const name = repo('umoci');
      await skopeoCopy(`oci:${layout}:amd64`, `docker://${ours.host}/${name}:v1`);
      const pulled = path.join(work, 'pulled');
      await skopeoCopy(`docker://${ours.host}/${name}:v1`, `oci:${pulled}:v1`);
      const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
      const original = index.manifests.find((m) => m.annotations['org.opencontainers.image.ref.name'] === 'amd64')!;
      expect((await fetchManifest(ours.url, name, 'v1')).digest).toBe(original.digest);
      const bundle = path.join(work, 'bundle');
      await umoci('unpack', '--rootless', '--image', `${pulled}:v1`, bundle);
      expect(readFileSync(path.join(bundle, 'rootfs/etc/kuik-release'), 'utf8')).toBe('release amd64\n');
      expect(readFileSync(path.join(bundle, 'rootfs/usr/share/kuik/hello.txt'), 'utf8')).toBe('hello from a umoci layer\n');
    },
    TIMEOUT,
  );
});

describe('crane', () => {
  it(
    'pushes, lists, copies, pulls and deletes',
    async () => {
      const name = repo('crane');
      const ref = `${ours.host}/${name}`;
      const tar = path.join(work, 'crane-layer.tar');
      const src = path.join(work, 'crane-src');
      mkdirSync(src, { recursive: true });
      writeFileSync(path.join(src, 'greeting'), 'pushed by crane\n');
      await run('tar', ['-C', src, '-cf', tar, 'greeting']);

      // push: a new image from a tarball layer, then a second tag by copy.
      await crane('append', '-f', tar, '-t', `${ref}:v1`);
      const digest = (await crane('digest', `${ref}:v1`)).stdout.trim();
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      await crane('copy', `${ref}:v1`, `${ref}:v2`);
      await crane('tag', `${ref}:v1`, 'v3');
      expect((await crane('ls', ref)).stdout.trim().split('\n')).toEqual(['v1', 'v2', 'v3']);
      expect((await crane('catalog', ours.host)).stdout.split('\n')).toContain(name);
      expect((await crane('digest', `${ref}:v2`)).stdout.trim()).toBe(digest);

      // pull: as an OCI layout, and the layer's file out of the image (crane export).
      const pulled = path.join(work, 'crane-pulled');
      await crane('pull', '--format=oci', `${ref}:v1`, pulled);
      expect(readFileSync(path.join(pulled, 'index.json'), 'utf8')).toContain(digest);
      const exported = path.join(work, 'crane-export.tar');
      await crane('export', `${ref}:v1`, exported);
      expect((await run('tar', ['-xOf', exported, 'greeting'])).stdout).toBe('pushed by crane\n');

      // delete: one tag (the others stay), then the manifest by digest (every tag goes with it).
      await crane('delete', `${ref}:v3`);
      expect((await crane('ls', ref)).stdout.trim().split('\n')).toEqual(['v1', 'v2']);
      await crane('delete', `${ref}@${digest}`);
      const gone = await crane('manifest', `${ref}:v1`).catch((err: Error) => err);
      expect(String(gone)).toMatch(/MANIFEST_UNKNOWN/);
      expect((await fetch(`${ours.url}/v2/${name}/manifests/${digest}`)).status).toBe(404);
    },
    TIMEOUT,
  );
});

describe('containerd', () => {
  it(
    'pulls from the registry as a plain-HTTP host (hosts dir) and unpacks the image',
    async () => {
      // Idempotent: starts the shared test containerd when it is not running yet.
      await run('bash', [path.join(repoRoot(), 'tools/test-servers/containerd.sh'), 'start'], { timeoutMs: 120_000 });
      const ctrd = requireServer('containerd');
      const ctr = ctrd['CONTAINERD_CTR']!;
      const base = ['--address', ctrd['CONTAINERD_ADDRESS']!, '--namespace', ctrd['CONTAINERD_NAMESPACE']!];
      const snapshotter = ['--snapshotter', ctrd['CONTAINERD_SNAPSHOTTER']!];

      const name = repo('containerd');
      await skopeoCopy(`oci:${layout}:amd64`, `docker://${ours.host}/${name}:v1`);
      const manifest = await fetchManifest(ours.url, name, 'v1');
      const hostsDir = path.join(work, 'hosts');
      mkdirSync(path.join(hostsDir, ours.host), { recursive: true });
      writeFileSync(path.join(hostsDir, ours.host, 'hosts.toml'), `server = "http://${ours.host}"\n\n[host."http://${ours.host}"]\n  capabilities = ["pull", "resolve"]\n`);
      const ref = `${ours.host}/${name}:v1`;
      await run(ctr, [...base, 'image', 'pull', '--hosts-dir', hostsDir, ...snapshotter, '--platform', 'linux/amd64', ref], { timeoutMs: 120_000 });
      try {
        const { stdout: list } = await run(ctr, [...base, 'image', 'ls']);
        expect(list.split('\n').find((l) => l.startsWith(ref))).toContain(manifest.digest);
        const { stdout: check } = await run(ctr, [...base, 'image', 'check', ...snapshotter]);
        expect(check.split('\n').find((l) => l.startsWith(ref))).toMatch(/complete.*\btrue\b/);
        const mountDir = path.join(work, 'mount');
        mkdirSync(mountDir, { recursive: true });
        await run(ctr, [...base, 'image', 'mount', ...snapshotter, ref, mountDir]);
        try {
          expect(readFileSync(path.join(mountDir, 'etc/kuik-release'), 'utf8')).toBe('release amd64\n');
          expect(readFileSync(path.join(mountDir, 'usr/share/kuik/hello.txt'), 'utf8')).toBe('hello from a umoci layer\n');
        } finally {
          await run(ctr, [...base, 'image', 'unmount', mountDir]);
        }
      } finally {
        await run(ctr, [...base, 'image', 'rm', ref]).catch(() => undefined);
      }
    },
    TIMEOUT,
  );
});
