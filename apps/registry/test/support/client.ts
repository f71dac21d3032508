// Minimal registry client helpers for the tests, over fetch and raw sockets.
import { digestOf, MediaType, type Digest } from '@kuik/oci';
import type { StorageDriver } from '@kuik/storage';
import { expect } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

export const sha = (content: Uint8Array | string): Digest => digestOf(typeof content === 'string' ? Buffer.from(content) : content);
export const random = (n: number): Buffer => randomBytes(n);

/** Asserts status and OCI error code of a response. */
export async function expectError(res: Response, status: number, code: string): Promise<void> {
  const text = await res.text();
  expect({ status: res.status, text }).toEqual({ status, text: expect.stringContaining(`"code":"${code}"`) });
}

export async function pushBlob(url: string, repo: string, content: Buffer): Promise<Digest> {
  const digest = sha(content);
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: content, headers: { 'Content-Type': 'application/octet-stream' } });
  expect(res.status).toBe(201);
  return digest;
}

export interface Pushed {
  digest: Digest;
  content: Buffer;
  res: Response;
}

export async function pushManifest(url: string, repo: string, reference: string | undefined, manifest: object, mediaType?: string): Promise<Pushed> {
  const content = Buffer.from(JSON.stringify(manifest, null, 2));
  const digest = sha(content);
  const type = mediaType ?? ((manifest as { mediaType?: string }).mediaType || MediaType.OciManifest);
  const res = await fetch(`${url}/v2/${repo}/manifests/${reference ?? digest}`, { method: 'PUT', body: content, headers: { 'Content-Type': type } });
  return { digest, content, res };
}

/** An image with a config and layers pushed as blobs, and its manifest object (not pushed). */
export async function pushImage(url: string, repo: string, layers = 1, extra: object = {}): Promise<{ manifest: Record<string, unknown>; blobs: Digest[] }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: Math.random() }));
  const layerContents = Array.from({ length: layers }, () => random(1000 + Math.floor(Math.random() * 1000)));
  const blobs = [await pushBlob(url, repo, config)];
  for (const l of layerContents) blobs.push(await pushBlob(url, repo, l));
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: blobs[0], size: config.length },
    layers: layerContents.map((l, i) => ({ mediaType: MediaType.OciLayerGzip, digest: blobs[i + 1], size: l.length })),
    ...extra,
  };
  return { manifest, blobs };
}

/** Every visible file in storage, as paths. */
export async function storageFiles(driver: StorageDriver): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const f of driver.walk('/')) out.push(f.path);
  } catch (err) {
    if ((err as { code?: string }).code !== 'PathNotFound') throw err;
  }
  return out;
}

/** Blob data files in storage. */
export async function blobFiles(driver: StorageDriver): Promise<string[]> {
  return (await storageFiles(driver)).filter((p) => p.startsWith('/docker/registry/v2/blobs/'));
}

export async function uploadFiles(driver: StorageDriver): Promise<string[]> {
  return (await storageFiles(driver)).filter((p) => p.includes('/_uploads/'));
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from the first byte sent to the response (or the connection's end). */
  elapsedMs: number;
}

/**
 * Sends raw bytes on a fresh connection (a body shorter than its Content-Length, a body that
 * stalls…) and collects whatever response comes back. `endAfterSend` half-closes the socket.
 */
export function rawRequest(port: number, head: string, body: Buffer | undefined, opts: { endAfterSend?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no response within ${opts.timeoutMs ?? 10_000} ms`));
    }, opts.timeoutMs ?? 10_000);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const [headText = '', ...rest] = text.split('\r\n\r\n');
      const lines = headText.split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(lines[0] ?? '')?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status, headers, body: rest.join('\r\n\r\n'), elapsedMs: Date.now() - started });
    });
    socket.on('connect', () => {
      socket.write(head.replace(/\n/g, '\r\n') + '\r\n\r\n');
      if (body) socket.write(body);
      if (opts.endAfterSend) socket.end();
      // Stay open otherwise: the server must act on its own (idle timeout) or after responding.
      socket.on('data', () => {
        // The response arrived: close our side so 'close' fires even on keep-alive.
        setTimeout(() => socket.end(), 50);
      });
    });
  });
}
