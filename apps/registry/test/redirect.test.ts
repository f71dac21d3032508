// Blob downloads on storage that can hand out URLs (MinIO here) are redirected; existence checks
// are not: a HEAD is answered by the registry, with the digest header a presigned URL's response
// would lack.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pushBlob, random, storageFiles } from './support/client.js';
import { createTestStorage, startTestRegistry, type TestRegistry, type TestStorage } from './support/harness.js';

describe('blob redirects (MinIO)', () => {
  let storage: TestStorage;
  let t: TestRegistry;
  beforeAll(async () => {
    storage = createTestStorage('s3');
    t = await startTestRegistry({ storage });
  });
  afterAll(async () => {
    for (const p of await storageFiles(t.driver)) await t.driver.delete(p).catch(() => undefined);
    await t.close();
    storage.dispose();
  });

  it('answers HEAD itself and redirects GET to a URL that serves the bytes', async () => {
    const content = random(100_000);
    const digest = await pushBlob(t.url, 'redirect/app', content);
    const head = await fetch(`${t.url}/v2/redirect/app/blobs/${digest}`, { method: 'HEAD', redirect: 'manual' });
    expect({ status: head.status, digest: head.headers.get('docker-content-digest'), length: head.headers.get('content-length') }).toEqual({
      status: 200,
      digest,
      length: String(content.length),
    });

    const get = await fetch(`${t.url}/v2/redirect/app/blobs/${digest}`, { redirect: 'manual' });
    expect(get.status).toBe(307);
    expect(get.headers.get('docker-content-digest')).toBe(digest);
    const location = get.headers.get('location')!;
    expect(new URL(location).origin).not.toBe(new URL(t.url).origin);
    const followed = await fetch(location, { headers: { Range: 'bytes=10-19' } });
    expect(followed.status).toBe(206);
    expect(Buffer.from(await followed.arrayBuffer()).equals(content.subarray(10, 20))).toBe(true);

    // Still unknown in another repository, and a matching ETag is answered without a redirect.
    expect((await fetch(`${t.url}/v2/other/blobs/${digest}`, { redirect: 'manual' })).status).toBe(404);
    expect((await fetch(`${t.url}/v2/redirect/app/blobs/${digest}`, { redirect: 'manual', headers: { 'If-None-Match': `"${digest}"` } })).status).toBe(304);
  });
});
