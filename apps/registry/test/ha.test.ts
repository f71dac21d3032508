// The HA prerequisite: upload sessions live in storage, so a second registry instance on the
// same storage continues (and verifies) an upload the first one started.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { blobFiles, expectError, random, sha, uploadFiles } from './support/client.js';
import { createTestStorage, startTestRegistry, testDrivers, type TestRegistry, type TestStorage } from './support/harness.js';

// inmemory shares a named tree between driver instances of one process: a stand-in for replicas.
describe.each(testDrivers())('two registries on one storage (%s)', (kind) => {
  let storage: TestStorage;
  let a: TestRegistry;
  let b: TestRegistry;
  beforeAll(async () => {
    storage = createTestStorage(kind);
    a = await startTestRegistry({ storage });
    b = await startTestRegistry({ storage });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    storage.dispose();
  });

  it('continues on B an upload started on A, verifying the digest from storage', async () => {
    const content = random(3 * 1024 * 1024 + 17);
    const cut = 1024 * 1024;
    const start = await fetch(`${a.url}/v2/ha/app/blobs/uploads/`, { method: 'POST' });
    const location = start.headers.get('location')!;
    const first = await fetch(`${a.url}${location}`, { method: 'PATCH', body: content.subarray(0, cut), headers: { 'Content-Range': `0-${cut - 1}` } });
    expect(first.status).toBe(202);

    const status = await fetch(`${b.url}${location}`);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${cut - 1}`);
    const second = await fetch(`${b.url}${location}`, {
      method: 'PATCH',
      body: content.subarray(cut),
      headers: { 'Content-Range': `${cut}-${content.length - 1}` },
    });
    expect(second.status).toBe(202);
    // Back on A for the final PUT: A's running hash missed the second chunk, so it re-reads.
    const put = await fetch(`${a.url}${location}?digest=${sha(content)}`, { method: 'PUT' });
    expect(put.status).toBe(201);
    for (const r of [a, b]) {
      const got = await fetch(`${r.url}/v2/ha/app/blobs/${sha(content)}`);
      expect(Buffer.from(await got.arrayBuffer()).equals(content)).toBe(true);
    }
    expect(await uploadFiles(a.driver)).toEqual([]);
  });

  it('catches a wrong digest on the replica that did not see the bytes, leaving nothing', async () => {
    const before = await blobFiles(a.driver);
    const content = random(100_000);
    const start = await fetch(`${a.url}/v2/ha/wrong/blobs/uploads/`, { method: 'POST' });
    const location = start.headers.get('location')!;
    await fetch(`${a.url}${location}`, { method: 'PATCH', body: content });
    await expectError(await fetch(`${b.url}${location}?digest=${sha('forged')}`, { method: 'PUT' }), 400, 'DIGEST_INVALID');
    expect(await blobFiles(a.driver)).toEqual(before);
    expect(await uploadFiles(a.driver)).toEqual([]);
  });

  it('serves on B what was pushed on A, manifests and tags included', async () => {
    const content = random(500);
    const res = await fetch(`${a.url}/v2/ha/shared/blobs/uploads/?digest=${sha(content)}`, { method: 'POST', body: content });
    expect(res.status).toBe(201);
    expect((await fetch(`${b.url}/v2/ha/shared/blobs/${sha(content)}`, { method: 'HEAD' })).status).toBe(200);
    const catalog = (await (await fetch(`${b.url}/v2/_catalog`)).json()) as { repositories: string[] };
    expect(catalog.repositories).toEqual(expect.arrayContaining(['ha/app', 'ha/shared']));
  });
});
