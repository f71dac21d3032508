// Test images made by real tools: umoci builds OCI layouts with real tar+gzip layers (containerd
// can unpack them), skopeo moves them between layouts and registries, crane assembles indexes.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { requireTool } from '@kuik/testing';
import { run } from './tools.js';

export const tools = {
  skopeo: () => requireTool('SKOPEO_BIN'),
  umoci: () => requireTool('UMOCI_BIN'),
  crane: () => requireTool('CRANE_BIN'),
};

export const skopeo = (...args: string[]) => run(tools.skopeo(), args, { timeoutMs: 300_000 });
export const umoci = (...args: string[]) => run(tools.umoci(), args);
export const crane = (...args: string[]) => run(tools.crane(), [...args, '--insecure']);

/** Copies between transports over plain HTTP, keeping every list and digest as it is. */
export const skopeoCopy = (from: string, to: string, ...flags: string[]) =>
  skopeo('copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', '--preserve-digests', ...flags, from, to);

/**
 * An OCI layout at `layout` with one image per platform, tagged by architecture: an empty image
 * (umoci new) with one layer holding /etc/kuik-release (text: `release <arch>`) and the given files;
 * and, tagged `multi`, an OCI index over them with their platforms. (The index is written here
 * rather than by `crane index append`, whose descriptors carry `artifactType`, which skopeo 1.9
 * cannot copy with --preserve-digests, to any registry.)
 */
export async function buildLayout(layout: string, architectures: string[], files: Record<string, string> = {}): Promise<void> {
  await umoci('init', '--layout', layout);
  for (const arch of architectures) {
    const src = `${layout}.src-${arch}`;
    mkdirSync(path.join(src, 'etc'), { recursive: true });
    writeFileSync(path.join(src, 'etc', 'kuik-release'), `release ${arch}\n`);
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(src, name)), { recursive: true });
      writeFileSync(path.join(src, name), content);
    }
    await umoci('new', '--image', `${layout}:${arch}`);
    await umoci('insert', '--image', `${layout}:${arch}`, src, '/');
    await umoci('config', '--image', `${layout}:${arch}`, '--architecture', arch, '--os', 'linux');
  }
  const indexFile = path.join(layout, 'index.json');
  const top = JSON.parse(readFileSync(indexFile, 'utf8')) as { manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[] };
  const byArch = (arch: string) => top.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === arch)!;
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: architectures.map((arch) => ({ mediaType: byArch(arch).mediaType, digest: byArch(arch).digest, size: byArch(arch).size, platform: { architecture: arch, os: 'linux' } })),
    }),
  );
  const hex = createHash('sha256').update(index).digest('hex');
  writeFileSync(path.join(layout, 'blobs', 'sha256', hex), index);
  top.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${hex}`, size: index.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } });
  writeFileSync(indexFile, JSON.stringify(top));
}

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface RawManifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
  json: { mediaType?: string; manifests?: { digest: string; platform?: { architecture: string } }[]; config?: { digest: string }; layers?: { digest: string; size: number }[] };
}

/** A manifest's exact bytes as a registry serves them, with their digest (computed, and checked against the header). */
export async function fetchManifest(baseUrl: string, repo: string, ref: string): Promise<RawManifest> {
  const res = await fetch(`${baseUrl}/v2/${repo}/manifests/${ref}`, { headers: { Accept: ACCEPT } });
  if (res.status !== 200) throw new Error(`GET ${baseUrl}/v2/${repo}/manifests/${ref}: ${res.status} ${await res.text()}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const header = res.headers.get('docker-content-digest');
  if (header && header !== digest) throw new Error(`${baseUrl}/v2/${repo}/manifests/${ref}: Docker-Content-Digest ${header} but the bytes hash to ${digest}`);
  return { bytes, digest, mediaType: res.headers.get('content-type') ?? '', json: JSON.parse(bytes.toString('utf8')) as RawManifest['json'] };
}

/** Every manifest and blob digest reachable from a reference (index → manifests → config and layers). */
export async function closure(baseUrl: string, repo: string, ref: string): Promise<{ manifests: string[]; blobs: string[] }> {
  const top = await fetchManifest(baseUrl, repo, ref);
  const manifests = [top.digest];
  const blobs: string[] = [];
  const children = top.json.manifests ? await Promise.all(top.json.manifests.map((m) => fetchManifest(baseUrl, repo, m.digest))) : [top];
  for (const child of children) {
    if (child !== top) manifests.push(child.digest);
    blobs.push(child.json.config!.digest, ...child.json.layers!.map((l) => l.digest));
  }
  return { manifests, blobs };
}

export function writeTextFile(file: string, text: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}
