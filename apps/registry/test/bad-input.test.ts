// Hostile and broken input: malformed names and references, path tricks, truncated bodies,
// stalled bodies (slow-loris), oversized headers. Each answer is checked for status and OCI
// code, and storage is checked for leftovers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { blobFiles, expectError, pushBlob, random, rawRequest, sha, storageFiles, uploadFiles } from './support/client.js';
import { startTestRegistry, testDrivers, type TestRegistry } from './support/harness.js';

const IDLE_MS = 400;

describe.each(testDrivers())('bad input (%s)', (kind) => {
  let t: TestRegistry;
  beforeAll(async () => {
    t = await startTestRegistry({ kind, config: { http: { timeouts: { idle: `${IDLE_MS}ms` } }, limits: { headermaxbytes: 8192 } } });
  });
  afterAll(() => t.close());

  it('refuses malformed repository names and path tricks with NAME_INVALID', async () => {
    const paths = [
      '/v2/UPPER/tags/list',
      '/v2/a%2Fb/manifests/latest',
      '/v2/a%2F..%2Fb/manifests/latest',
      '/v2/-a/blobs/uploads/',
      '/v2/a__-b/manifests/x',
      `/v2/${'a'.repeat(256)}/tags/list`,
      '/v2/a/%2E%2E/b/manifests/x',
    ];
    for (const p of paths) {
      const res = await rawRequest(t.port, `GET ${p} HTTP/1.1\nHost: x\nConnection: close`, undefined);
      expect({ p, status: res.status }).toEqual({ p, status: 400 });
      expect(res.body).toContain('NAME_INVALID');
    }
    // Literal dot segments (sent raw; fetch would normalise them away).
    const dots = await rawRequest(t.port, 'GET /v2/a/../../etc/manifests/x HTTP/1.1\nHost: x\nConnection: close', undefined);
    expect(dots.status).toBe(400);
    expect(dots.body).toContain('NAME_INVALID');
  });

  it('refuses malformed references and digests', async () => {
    const dotRef = await rawRequest(t.port, 'GET /v2/ok/manifests/.. HTTP/1.1\nHost: x\nConnection: close', undefined);
    expect(dotRef.status).toBe(400);
    expect(dotRef.body).toContain('TAG_INVALID');
    await expectError(await fetch(`${t.url}/v2/ok/manifests/${'x'.repeat(129)}`), 400, 'TAG_INVALID');
    await expectError(await fetch(`${t.url}/v2/ok/manifests/sha256:123`), 400, 'DIGEST_INVALID');
    await expectError(await fetch(`${t.url}/v2/ok/blobs/sha256:${'A'.repeat(64)}`), 400, 'DIGEST_INVALID');
    await expectError(await fetch(`${t.url}/v2/ok/blobs/md5:abc`), 400, 'DIGEST_INVALID');
    await expectError(await fetch(`${t.url}/v2/ok/blobs/uploads/?digest=sha256:zz`, { method: 'POST', body: 'x' }), 400, 'DIGEST_INVALID');
    // Upload ids are opaque to clients but must be ours.
    for (const id of ['not-a-session', 'a%2Fb', 'e3b0c442-98fc-1c14-9afb-f4c8996fb924']) {
      await expectError(await fetch(`${t.url}/v2/ok/blobs/uploads/${id}`), 404, 'BLOB_UPLOAD_UNKNOWN');
    }
  });

  it('answers unknown routes with 404 and wrong methods with 405 and Allow', async () => {
    await expectError(await fetch(`${t.url}/v2/a/unknown/thing`), 404, 'NOT_FOUND');
    const res = await fetch(`${t.url}/v2/a/tags/list`, { method: 'DELETE' });
    expect(res.headers.get('allow')).toBe('GET');
    await expectError(res, 405, 'UNSUPPORTED');
    expect((await fetch(`${t.url}/nothing-here`)).status).toBe(404);
  });

  it('leaves nothing behind when a single-request upload is truncated', async () => {
    const before = await storageFiles(t.driver);
    const body = random(5000);
    const res = await rawRequest(
      t.port,
      `POST /v2/trunc/blobs/uploads/?digest=${sha(body)} HTTP/1.1\nHost: x\nContent-Type: application/octet-stream\nContent-Length: 10000`,
      body,
      { endAfterSend: true },
    );
    // The client is gone: whatever the server could still answer, it must not be a success.
    expect(res.status === 0 || res.status >= 400).toBe(true);
    await waitFor(async () => (await uploadFiles(t.driver)).length === 0);
    expect(await storageFiles(t.driver)).toEqual(before);
  });

  it('keeps a chunked session resumable after a truncated PATCH, with nothing partial visible', async () => {
    const content = random(20_000);
    const start = await fetch(`${t.url}/v2/trunc-chunk/blobs/uploads/`, { method: 'POST' });
    const location = start.headers.get('location')!;
    const first = content.subarray(0, 8000);
    expect((await fetch(`${t.url}${location}`, { method: 'PATCH', body: first, headers: { 'Content-Range': '0-7999' } })).status).toBe(202);
    const blobsBefore = await blobFiles(t.driver);
    await rawRequest(t.port, `PATCH ${location} HTTP/1.1\nHost: x\nContent-Range: 8000-19999\nContent-Length: 12000`, content.subarray(8000, 9000), {
      endAfterSend: true,
    });
    // Whatever part of the chunk arrived is either kept (and reported) or not: the Range says which.
    let status!: Response;
    await waitFor(async () => {
      status = await fetch(`${t.url}${location}`);
      return status.status === 204;
    });
    const end = Number(status.headers.get('range')!.split('-')[1]);
    expect(end === 7999 || end === 8999).toBe(true);
    const rest = content.subarray(end + 1);
    const put = await fetch(`${t.url}${location}?digest=${sha(content)}`, { method: 'PUT', body: rest, headers: { 'Content-Range': `${end + 1}-19999` } });
    expect(put.status).toBe(201);
    expect((await blobFiles(t.driver)).length).toBe(blobsBefore.length + 1);
    const got = await fetch(`${t.url}/v2/trunc-chunk/blobs/${sha(content)}`);
    expect(Buffer.from(await got.arrayBuffer()).equals(content)).toBe(true);
  });

  it('aborts a stalled body within the idle timeout (408) and leaves the session resumable', async () => {
    const content = random(30_000);
    const start = await fetch(`${t.url}/v2/stall/blobs/uploads/`, { method: 'POST' });
    const location = start.headers.get('location')!;
    // Headers and a first part of the body, then silence with the connection held open.
    const res = await rawRequest(t.port, `PATCH ${location} HTTP/1.1\nHost: x\nContent-Length: 30000`, content.subarray(0, 10_000), { timeoutMs: IDLE_MS * 10 });
    expect(res.status).toBe(408);
    expect(res.body).toContain('BLOB_UPLOAD_INVALID');
    expect(res.headers['connection']).toBe('close');
    expect(res.elapsedMs).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(res.elapsedMs).toBeLessThan(IDLE_MS * 4);
    const status = await fetch(`${t.url}${location}`);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-9999');
    const put = await fetch(`${t.url}${location}?digest=${sha(content)}`, { method: 'PUT', body: content.subarray(10_000), headers: { 'Content-Range': '10000-29999' } });
    expect(put.status).toBe(201);
  });

  it('aborts a stalled single-request upload and keeps nothing of it', async () => {
    const before = await storageFiles(t.driver);
    const content = random(10_000);
    const res = await rawRequest(
      t.port,
      `POST /v2/stall-mono/blobs/uploads/?digest=${sha(content)} HTTP/1.1\nHost: x\nContent-Length: 10000`,
      content.subarray(0, 100),
      { timeoutMs: IDLE_MS * 10 },
    );
    expect(res.status).toBe(408);
    expect(res.body).toContain('BLOB_UPLOAD_INVALID');
    expect(await storageFiles(t.driver)).toEqual(before);
  });

  it('refuses oversized headers with 431 and still serves normal requests', async () => {
    const res = await rawRequest(t.port, `GET /v2/ HTTP/1.1\nHost: x\nX-Big: ${'a'.repeat(10_000)}`, undefined);
    expect(res.status).toBe(431);
    expect((await fetch(`${t.url}/v2/`)).status).toBe(200);
  });

  it('still works for well-formed pushes afterwards', async () => {
    const digest = await pushBlob(t.url, 'after', random(100));
    expect((await fetch(`${t.url}/v2/after/blobs/${digest}`)).status).toBe(200);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
