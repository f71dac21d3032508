// Tag list and catalog pagination (n, last, Link), on every storage driver.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { expectError, pushBlob, pushImage, pushManifest } from './support/client.js';
import { startTestRegistry, testDrivers, type TestRegistry } from './support/harness.js';

describe.each(testDrivers())('listings (%s)', (kind) => {
  let t: TestRegistry;
  const tags = ['1.0', '1.1', '2.0', 'A', 'latest', 'v_1'];
  beforeAll(async () => {
    t = await startTestRegistry({ kind, config: { limits: { maxpageentries: 4 } } });
    const { manifest } = await pushImage(t.url, 'list/app');
    for (const tag of [...tags].reverse()) expect((await pushManifest(t.url, 'list/app', tag, manifest)).res.status).toBe(201);
    for (const repo of ['list', 'list-b', 'list/app/sub', 'list.c', 'list0']) await pushBlob(t.url, repo, Buffer.from(repo));
  });
  afterAll(() => t.close());

  const json = async (res: Response) => (await res.json()) as Record<string, unknown>;

  it('lists every tag in lexical order without n', async () => {
    const res = await fetch(`${t.url}/v2/list/app/tags/list`);
    expect(res.status).toBe(200);
    expect(res.headers.get('link')).toBeNull();
    expect(await json(res)).toEqual({ name: 'list/app', tags });
  });

  it('pages tags with n and last, linking to the next page', async () => {
    const first = await fetch(`${t.url}/v2/list/app/tags/list?n=2`);
    expect((await json(first))['tags']).toEqual(['1.0', '1.1']);
    expect(first.headers.get('link')).toBe('</v2/list/app/tags/list?n=2&last=1.1>; rel="next"');
    const second = await fetch(`${t.url}/v2/list/app/tags/list?n=2&last=1.1`);
    expect((await json(second))['tags']).toEqual(['2.0', 'A']);
    const last = await fetch(`${t.url}/v2/list/app/tags/list?n=2&last=latest`);
    expect((await json(last))['tags']).toEqual(['v_1']);
    expect(last.headers.get('link')).toBeNull();
    // n is capped by limits.maxpageentries; the Link says where to go on.
    const capped = await fetch(`${t.url}/v2/list/app/tags/list?n=100`);
    expect((await json(capped))['tags']).toHaveLength(4);
    expect(capped.headers.get('link')).toBe('</v2/list/app/tags/list?n=4&last=A>; rel="next"');
    expect((await json(await fetch(`${t.url}/v2/list/app/tags/list?n=0`)))['tags']).toEqual([]);
    await expectError(await fetch(`${t.url}/v2/list/app/tags/list?n=-1`), 400, 'PAGINATION_NUMBER_INVALID');
  });

  it('answers NAME_UNKNOWN for a repository that does not exist, and [] for one without tags', async () => {
    await expectError(await fetch(`${t.url}/v2/does/not/exist/tags/list`), 404, 'NAME_UNKNOWN');
    expect(await json(await fetch(`${t.url}/v2/list-b/tags/list`))).toEqual({ name: 'list-b', tags: [] });
  });

  it('lists repositories in lexical order, nested names included, with pagination', async () => {
    const all = ['list', 'list-b', 'list.c', 'list/app', 'list/app/sub', 'list0'];
    const res = await fetch(`${t.url}/v2/_catalog`);
    // Without n the page size defaults to limits.maxpageentries.
    expect((await json(res))['repositories']).toEqual(all.slice(0, 4));
    expect(res.headers.get('link')).toBe('</v2/_catalog?n=4&last=list%2Fapp>; rel="next"');
    const next = await fetch(`${t.url}/v2/_catalog?n=4&last=list%2Fapp`);
    expect((await json(next))['repositories']).toEqual(all.slice(4));
    expect(next.headers.get('link')).toBeNull();
    const two = await fetch(`${t.url}/v2/_catalog?n=2&last=list`);
    expect((await json(two))['repositories']).toEqual(['list-b', 'list.c']);
  });
});
