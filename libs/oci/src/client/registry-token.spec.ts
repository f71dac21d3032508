// Registry tokens (Docker's RegistryToken) against a loopback registry that accepts only
// `Authorization: Bearer <token>` and would hand out tokens at its realm to anyone who asked:
// the client must send the token on its first request, never visit the realm, and give up with
// a clear error (without the token in it) when the token is refused.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { digestOf } from '../digest.js';
import { MediaType } from '../media-types.js';
import { StaticCredentials } from './credentials.js';
import { DockerConfigCredentials } from './docker-config.js';
import { isRegistryClientError } from './errors.js';
import { hostOptionsFromUrl } from './hosts.js';
import { RegistryClient } from './registry-client.js';

const TOKEN = 'registry-token-s3cr3t';
const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: {}, layers: [] }));
const digest = digestOf(manifest);

let server: Server;
let url: string;
let host: string;
/** Every request the registry received: method, path and Authorization. */
let seen: { method: string; path: string; authorization?: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization });
    if (req.url?.startsWith('/token')) {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: 'exchanged' }));
      return;
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      const body = JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
      res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': `Bearer realm="${url}/token",service="test"` }).end(body);
      return;
    }
    if (req.url !== '/v2/app/manifests/v1') {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN' }] }));
      return;
    }
    res.writeHead(200, { 'Content-Type': MediaType.OciManifest, 'Content-Length': manifest.length, 'Docker-Content-Digest': digest });
    res.end(req.method === 'HEAD' ? undefined : manifest);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;
  host = `127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
});

async function withClient<T>(registryToken: string, fn: (c: RegistryClient) => Promise<T>): Promise<T> {
  const client = new RegistryClient({ ...hostOptionsFromUrl(url), credentials: new StaticCredentials({ [host]: { registryToken } }) });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

describe('registry tokens', () => {
  it('are sent as the bearer token from the first request, with no token exchange', async () => {
    await withClient(TOKEN, async (client) => {
      const m = await client.getManifest('app', 'v1');
      expect(m).toMatchObject({ digest, mediaType: MediaType.OciManifest, size: manifest.length });
      expect(await client.headManifest('app', 'v1')).toMatchObject({ digest });
    });
    expect(seen).toEqual([
      { method: 'GET', path: '/v2/app/manifests/v1', authorization: `Bearer ${TOKEN}` },
      { method: 'HEAD', path: '/v2/app/manifests/v1', authorization: `Bearer ${TOKEN}` },
    ]);
  });

  it('come from a Docker config.json "registrytoken"', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kuik-registrytoken-')), 'config.json');
    writeFileSync(file, JSON.stringify({ auths: { [url]: { registrytoken: TOKEN, auth: Buffer.from('u:p').toString('base64') } } }));
    const client = new RegistryClient({ ...hostOptionsFromUrl(url), credentials: new DockerConfigCredentials(file) });
    try {
      expect((await client.getManifest('app', 'v1')).digest).toBe(digest);
    } finally {
      await client.close();
    }
    expect(seen.map((r) => r.authorization)).toEqual([`Bearer ${TOKEN}`]);
  });

  it('refused with a 401 give an auth error naming the host, once, without the token', async () => {
    const err = await withClient('expired-token', (client) => client.getManifest('app', 'v1')).catch((e: unknown) => e);
    expect(isRegistryClientError(err, 'auth')).toBe(true);
    expect(err).toMatchObject({ status: 401, host, code: 'UNAUTHORIZED' });
    const message = (err as Error).message;
    expect(message).toBe(
      `GET /v2/app/manifests/v1: UNAUTHORIZED: ${host} refused the registry token configured for it (sent as is, never exchanged or renewed); the registry said UNAUTHORIZED (authentication required)`,
    );
    expect(message).not.toContain('expired-token');
    // One request: no retry with the same token, no visit to the realm.
    expect(seen).toEqual([{ method: 'GET', path: '/v2/app/manifests/v1', authorization: 'Bearer expired-token' }]);
  });

  it('refused on a HEAD (no body) still say what was refused', async () => {
    const err = await withClient('expired-token', (client) => client.headManifest('app', 'v1')).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'auth', status: 401, message: `HEAD /v2/app/manifests/v1: UNAUTHORIZED: ${host} refused the registry token configured for it (sent as is, never exchanged or renewed)` });
    expect(seen).toHaveLength(1);
  });
});
