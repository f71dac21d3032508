// Blob push and pull flows against the real server, on every storage driver.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { digestOf } from '@kuik/oci';
import { blobFiles, expectError, pushBlob, random, sha, uploadFiles } from './support/client.js';
import { startTestRegistry, testDrivers, type TestRegistry } from './support/harness.js';

describe.each(testDrivers())('blob push and pull (%s)', (kind) => {
  let t: TestRegistry;
  beforeAll(async () => {
    t = await startTestRegistry({ kind });
  });
  afterAll(() => t.close());

  const post = (repo: string, query = '', init: RequestInit = {}) => fetch(`${t.url}/v2/${repo}/blobs/uploads/${query}`, { method: 'POST', ...init });
  const at = (location: string) => new URL(location, t.url).toString();

  it('answers the base endpoint with the API version header', async () => {
    const res = await fetch(`${t.url}/v2/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await res.json()).toEqual({});
  });

  it('pushes monolithically (POST then PUT) and serves the blob with its headers', async () => {
    const content = random(300_000);
    const digest = sha(content);
    const start = await post('mono/app');
    expect(start.status).toBe(202);
    expect(start.headers.get('range')).toBe('0-0');
    const location = start.headers.get('location')!;
    expect(location).toMatch(/^\/v2\/mono\/app\/blobs\/uploads\/[0-9a-f-]{36}$/);
    expect(start.headers.get('docker-upload-uuid')).toBe(location.split('/').pop());
    const put = await fetch(`${at(location)}?digest=${digest}`, { method: 'PUT', body: content });
    expect(put.status).toBe(201);
    expect(put.headers.get('location')).toBe(`/v2/mono/app/blobs/${digest}`);
    expect(put.headers.get('docker-content-digest')).toBe(digest);

    const head = await fetch(`${t.url}/v2/mono/app/blobs/${digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(content.length));
    expect(head.headers.get('docker-content-digest')).toBe(digest);
    expect(head.headers.get('etag')).toBe(`"${digest}"`);
    const get = await fetch(`${t.url}/v2/mono/app/blobs/${digest}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(content)).toBe(true);
    const cached = await fetch(`${t.url}/v2/mono/app/blobs/${digest}`, { headers: { 'If-None-Match': `"${digest}"` } });
    expect(cached.status).toBe(304);
    expect(await uploadFiles(t.driver)).toEqual([]);
  });

  it('pushes in a single POST with ?digest=', async () => {
    const content = random(5000);
    const digest = await pushBlob(t.url, 'single', content);
    const get = await fetch(`${t.url}/v2/single/blobs/${digest}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(content)).toBe(true);
    // Not visible from another repository.
    await expectError(await fetch(`${t.url}/v2/other/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
  });

  it('pushes in chunks with Content-Range, reports progress, refuses out-of-order chunks, and resumes', async () => {
    const content = random(200_000);
    const parts = [content.subarray(0, 70_000), content.subarray(70_000, 150_000), content.subarray(150_000)];
    const start = await post('chunked');
    let location = at(start.headers.get('location')!);

    const first = await fetch(location, { method: 'PATCH', body: parts[0], headers: { 'Content-Range': '0-69999', 'Content-Type': 'application/octet-stream' } });
    expect(first.status).toBe(202);
    expect(first.headers.get('range')).toBe('0-69999');
    location = at(first.headers.get('location')!);

    // Retrying the first chunk, or skipping ahead, is out of order: 416 with the current Range.
    for (const range of ['0-79999', '100000-179999']) {
      const res = await fetch(location, { method: 'PATCH', body: parts[1], headers: { 'Content-Range': range } });
      expect(res.status).toBe(416);
      expect(res.headers.get('range')).toBe('0-69999');
      expect(res.headers.get('location')).toBe(new URL(location).pathname);
      expect(await res.text()).toContain('RANGE_INVALID');
    }
    // Content-Range disagreeing with Content-Length is a bad request.
    await expectError(await fetch(location, { method: 'PATCH', body: parts[1], headers: { 'Content-Range': '70000-70009' } }), 400, 'SIZE_INVALID');
    const status = await fetch(location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-69999');

    const second = await fetch(location, { method: 'PATCH', body: parts[1], headers: { 'Content-Range': '70000-149999' } });
    expect(second.headers.get('range')).toBe('0-149999');
    // Last chunk with the PUT itself.
    const done = await fetch(`${location}?digest=${sha(content)}`, { method: 'PUT', body: parts[2], headers: { 'Content-Range': '150000-199999' } });
    expect(done.status).toBe(201);
    const get = await fetch(`${t.url}/v2/chunked/blobs/${sha(content)}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(content)).toBe(true);
    expect(await uploadFiles(t.driver)).toEqual([]);
  });

  it('accepts a streamed PATCH without Content-Range or Content-Length, then a zero-length PUT', async () => {
    const content = random(1 << 20);
    const start = await post('streamed');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < content.length; i += 100_000) controller.enqueue(content.subarray(i, i + 100_000));
        controller.close();
      },
    });
    const patch = await fetch(at(start.headers.get('location')!), { method: 'PATCH', body: stream, duplex: 'half' } as RequestInit);
    expect(patch.status).toBe(202);
    expect(patch.headers.get('range')).toBe(`0-${content.length - 1}`);
    const put = await fetch(`${at(patch.headers.get('location')!)}?digest=${sha(content)}`, { method: 'PUT', headers: { 'Content-Length': '0' } });
    expect(put.status).toBe(201);
  });

  it('cancels an upload and forgets it', async () => {
    const start = await post('cancel');
    const location = at(start.headers.get('location')!);
    await fetch(location, { method: 'PATCH', body: random(1000) });
    const del = await fetch(location, { method: 'DELETE' });
    expect(del.status).toBe(204);
    await expectError(await fetch(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await fetch(location, { method: 'PATCH', body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await fetch(location, { method: 'DELETE' }), 404, 'BLOB_UPLOAD_UNKNOWN');
    expect((await uploadFiles(t.driver)).filter((p) => p.includes('/cancel/'))).toEqual([]);
  });

  it('serves byte ranges (206) and refuses unsatisfiable ones (416)', async () => {
    const content = random(1000);
    const digest = await pushBlob(t.url, 'ranges', content);
    const url = `${t.url}/v2/ranges/blobs/${digest}`;
    const cases: [string, number, number][] = [
      ['bytes=0-9', 0, 9],
      ['bytes=990-', 990, 999],
      ['bytes=-10', 990, 999],
      ['bytes=500-5000', 500, 999],
    ];
    for (const [range, start, end] of cases) {
      const res = await fetch(url, { headers: { Range: range } });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/1000`);
      expect(Buffer.from(await res.arrayBuffer()).equals(content.subarray(start, end + 1))).toBe(true);
    }
    for (const range of ['bytes=1000-', 'bytes=5-1', 'bytes=abc', 'lines=1-2']) {
      const res = await fetch(url, { headers: { Range: range } });
      expect(res.headers.get('content-range')).toBe('bytes */1000');
      await expectError(res, 416, 'RANGE_INVALID');
    }
  });

  it('accepts sha512 digests', async () => {
    const content = random(4096);
    const digest = digestOf(content, 'sha512');
    const res = await post('sha512', `?digest=${digest}`, { body: content });
    expect(res.status).toBe(201);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect((await fetch(`${t.url}/v2/sha512/blobs/${digest}`)).status).toBe(200);
  });

  it('mounts blobs across repositories, and falls back to an upload session when it cannot', async () => {
    const content = random(2000);
    const digest = await pushBlob(t.url, 'mount/source', content);
    const mounted = await post('mount/target', `?mount=${digest}&from=mount/source`);
    expect(mounted.status).toBe(201);
    expect(mounted.headers.get('location')).toBe(`/v2/mount/target/blobs/${digest}`);
    expect((await fetch(`${t.url}/v2/mount/target/blobs/${digest}`)).status).toBe(200);
    // Without from (or from a repository that lacks it) the blob store itself is searched.
    expect((await post('mount/third', `?mount=${digest}`)).status).toBe(201);
    expect((await post('mount/fourth', `?mount=${digest}&from=mount/nothing`)).status).toBe(201);
    const missing = await post('mount/target', `?mount=${sha('nope')}&from=mount/source`);
    expect(missing.status).toBe(202);
    expect(missing.headers.get('location')).toMatch(/^\/v2\/mount\/target\/blobs\/uploads\//);
    expect((await post('mount/target', '?mount=garbage&from=mount/source')).status).toBe(202);
  });

  it('rejects a wrong digest, leaving neither blob nor upload behind', async () => {
    const before = await blobFiles(t.driver);
    const content = random(3000);
    const wrong = sha('something else');
    await expectError(await post('wrong', `?digest=${wrong}`, { body: content }), 400, 'DIGEST_INVALID');
    const start = await post('wrong');
    const location = at(start.headers.get('location')!);
    await fetch(location, { method: 'PATCH', body: content });
    await expectError(await fetch(`${location}?digest=${wrong}`, { method: 'PUT' }), 400, 'DIGEST_INVALID');
    // The session is gone after a digest mismatch.
    await expectError(await fetch(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await fetch(`${location}?digest=sha256:abc`, { method: 'PUT' }), 400, 'DIGEST_INVALID');
    expect(await blobFiles(t.driver)).toEqual(before);
    expect((await uploadFiles(t.driver)).filter((p) => p.includes('/wrong/'))).toEqual([]);
  });
});
