// The azure driver against the real Azurite (bash tools/test-servers/azurite.sh start): the shared
// conformance suite, then what is specific to Azure — staged-block resume across driver instances,
// atomic replacement of a committed blob, SAS redirect URLs, credentials and configuration errors.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { requireServer } from '@kuik/testing';
import { randomBytes } from 'node:crypto';
import { describeDriverConformance } from '../../conformance/index.js';
import { contentBytes, digestOf, MiB } from '../../conformance/content.js';
import { expectConfigError, expectRedirectsServe, writeAcrossRestarts } from '../../conformance/object-stores.js';
import { expectStorageError, walkPaths } from '../../conformance/probes.js';
import { isStorageError } from '../../errors.js';
import { createDriver, type DriverParameters } from '../../factory.js';
import type { StorageDriver } from '../../types.js';
import { mapAzureError } from './errors.js';
import './index.js';

// Fails (never skips) with the command that starts Azurite when it is not running.
const env = requireServer('azurite');
const serviceurl = env['AZURITE_BLOB_ENDPOINT'];
const accountname = env['AZURITE_ACCOUNT_NAME'];
const accountkey = env['AZURITE_ACCOUNT_KEY'];

const run = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const container = `kuik-az-spec-${run}`;
const created: string[] = [container];
const service = new BlobServiceClient(serviceurl, new StorageSharedKeyCredential(accountname, accountkey));

function params(extra: DriverParameters = {}): DriverParameters {
  return { accountname, accountkey, serviceurl, container, ...extra };
}

async function blobNames(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const b of service.getContainerClient(container).listBlobsFlat({ prefix })) out.push(b.name);
  return out;
}

beforeAll(async () => {
  await service.getContainerClient(container).create();
});

afterAll(async () => {
  for (const c of created) await service.getContainerClient(c).deleteIfExists();
});

describeDriverConformance('azure (Azurite)', () => createDriver('azure', params({ rootdirectory: '/conformance-root' })), {
  expectRedirect: true,
});

describe('azure driver', () => {
  let d: StorageDriver;
  beforeAll(async () => {
    d = await createDriver('azure', params({ rootdirectory: 'specific' }));
  });
  afterAll(async () => {
    await d.close?.();
  });

  it('resumes a 40 MiB write across fresh driver instances (process restarts) from its staged blocks, sha256 intact', async () => {
    const p = `/resume-${run}/data`;
    const size = 40 * MiB + 12_345;
    // Sessions below, at and above the 8 MiB block: close() stages short blocks too.
    await writeAcrossRestarts(d, () => createDriver('azure', params({ rootdirectory: 'specific' })), p, size, [7 * MiB, 1, 12 * MiB + 3, 8 * MiB, 2 * MiB + 99]);
    // Committed as blocks in order; no state blob left; nothing in progress any more.
    const blocks = await service.getContainerClient(container).getBlockBlobClient(`specific/resume-${run}/data`).getBlockList('all');
    expect(blocks.uncommittedBlocks ?? []).toEqual([]);
    expect(blocks.committedBlocks?.reduce((n, b) => n + b.size, 0)).toBe(size);
    expect(await blobNames('specific/~kuik/')).toEqual([]);
    await expectStorageError(d.writer(p, true), 'PathNotFound');
  }, 180_000);

  it('stages on the committed blob without disturbing its readers; the commit replaces it at once', async () => {
    const p = `/replace-${run}/blob`;
    const old = contentBytes(1, 3 * MiB);
    await d.putContent(p, old);
    const w = await d.writer(p, false);
    await w.write(contentBytes(2, 10 * MiB)); // one 8 MiB block staged on the blob
    await w.close(); // and the rest
    expect(digestOf(await d.getContent(p))).toEqual(digestOf(old));
    expect((await d.stat(p)).size).toBe(old.length);
    const staged = await service.getContainerClient(container).getBlockBlobClient(`specific/replace-${run}/blob`).getBlockList('uncommitted');
    expect(staged.uncommittedBlocks?.map((b) => b.size)).toEqual([8 * MiB, 2 * MiB]);
    const w2 = await d.writer(p, true);
    expect(w2.size).toBe(10 * MiB);
    await w2.commit();
    expect(digestOf(await d.getContent(p))).toEqual(digestOf(contentBytes(2, 10 * MiB)));
  });

  it('keeps the writer state out of sight; cancel and delete of a parent drop it', async () => {
    const p = `/state-${run}/u/data`;
    const w = await d.writer(p, false);
    await w.write(Buffer.from('in progress'));
    await w.close();
    expect(await blobNames('specific/~kuik/')).toEqual([`specific/~kuik/uploads/state-${run}/u/data/~state`]);
    expect(await d.list('/')).not.toContain('/~kuik');
    expect(await walkPaths(d, '/')).not.toContain(p);
    const w2 = await d.writer(p, true);
    expect(w2.size).toBe(11);
    await w2.cancel();
    expect(await blobNames('specific/~kuik/')).toEqual([]);
    await expectStorageError(d.writer(p, true), 'PathNotFound');

    const w3 = await d.writer(p, false);
    await w3.write(Buffer.from('again'));
    await w3.close();
    await d.putContent(`/state-${run}/u/startedat`, Buffer.from('now'));
    await d.delete(`/state-${run}/u`); // what the registry does with a finished or purged upload
    expect(await blobNames('specific/~kuik/')).toEqual([]);
    await expectStorageError(d.writer(p, true), 'PathNotFound');
  });

  it('refuses to resume a write whose staged blocks were discarded by another commit of the same blob', async () => {
    const p = `/lost-${run}/data`;
    const w = await d.writer(p, false);
    await w.write(contentBytes(3, 9 * MiB));
    await w.close();
    // Another writer commits the blob: Put Block List discards every uncommitted block not in its list.
    const other = service.getContainerClient(container).getBlockBlobClient(`specific/lost-${run}/data`);
    const id = Buffer.from('other-writer-block-000000001').toString('base64'); // as long as ours, as Azure requires
    await other.stageBlock(id, Buffer.from('someone else'), 12);
    await other.commitBlockList([id]);
    const e = await expectStorageError(d.writer(p, true), 'Unknown');
    expect(e.message).toMatch(/lost its staged blocks \(0 of 2 left\)/);
    expect((await d.getContent(p)).toString()).toBe('someone else');
    const fresh = await d.writer(p, false); // starting afresh clears it
    await fresh.cancel();
    expect(await blobNames('specific/~kuik/')).toEqual([]);
  });

  it('gives read-only SAS URLs on 127.0.0.1 for GET and HEAD that serve the right bytes, and nothing else', async () => {
    const { get } = await expectRedirectsServe(d, `/redirect-${run}/blob`, contentBytes(3, 300_001));
    expect(get.searchParams.get('sp')).toBe('r');
    expect(new Date(get.searchParams.get('se') as string).getTime()).toBeLessThanOrEqual(Date.now() + 61_000);
    // Read-only: the same URL cannot write; a tampered signature is refused.
    const put = await fetch(get, { method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob' }, body: 'x' });
    expect(put.status).toBe(403);
    const tampered = new URL(get);
    tampered.searchParams.set('sig', Buffer.alloc(32).toString('base64'));
    expect((await fetch(tampered)).status).toBe(403);
  });

  it('says clearly when the credentials are refused or the container is missing; createcontainer creates it', async () => {
    const wrongKey = await createDriver('azure', params({ accountkey: randomBytes(64).toString('base64') }));
    for (const call of [() => wrongKey.healthCheck?.(), () => wrongKey.getContent('/x'), () => wrongKey.putContent('/x', Buffer.from('x'))]) {
      const e = await (call() as Promise<unknown>).catch((err: unknown) => err);
      expect(isStorageError(e, 'Unknown')).toBe(true);
      expect((e as Error).message).toMatch(/refused the credentials \((AuthenticationFailed|AuthorizationFailure), HTTP 403\).*storage\.azure\.accountname and accountkey/);
      expect((e as Error).message).not.toContain(accountkey);
    }

    const name = `kuik-az-new-${run}`;
    const missing = await createDriver('azure', params({ container: name }));
    const e = await missing.healthCheck?.().catch((err: unknown) => err);
    expect((e as Error).message).toMatch(/container does not exist \(set createcontainer: true/);
    created.push(name);
    const creating = await createDriver('azure', params({ container: name, createcontainer: 'true' }));
    await creating.putContent('/x', Buffer.from('made'));
    expect((await creating.getContent('/x')).toString()).toBe('made');
    await expect(creating.healthCheck?.()).resolves.toBeUndefined();
    await createDriver('azure', params({ container: name, createcontainer: true })); // already there: fine

    expect(mapAzureError(Object.assign(new Error('busy'), { statusCode: 503, code: 'ServerBusy' }), '/x')?.code).toBe('Transient');
    expect(mapAzureError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), '/x')?.code).toBe('Transient');
  });

  it('names the offending key for every bad parameter', async () => {
    const cases: Array<[DriverParameters, string, RegExp]> = [
      [{ accountkey, container }, 'accountname', /required/],
      [{ accountname, container }, 'accountkey', /required with accountname/],
      [{ accountname, accountkey }, 'container', /required/],
      [params({ container: 'Bad_Name' }), 'container', /not a valid container name/],
      [params({ accountname: 'Not-Valid' }), 'accountname', /not a valid storage account name/],
      [params({ accountkey: 'not base64!' }), 'accountkey', /base64/],
      [params({ serviceurl: 'nope' }), 'serviceurl', /not a URL/],
      [params({ serviceurl: `${serviceurl}?sv=1&sig=x` }), 'serviceurl', /must not carry a query/],
      [params({ realm: 'bad realm' }), 'realm', /not a DNS suffix/],
      [params({ createcontainer: 'yes' }), 'createcontainer', /true or false/],
      [params({ bucket: 'x' }), 'bucket', /unknown parameter/],
      [params({ rootdirectory: '../x' }), 'rootdirectory', /".." segment/],
    ];
    for (const [p, key, message] of cases) await expectConfigError('azure', p, key, message, accountkey);
  });

  it('builds the service URL from accountname and realm when serviceurl is unset', async () => {
    const { parseAzureConfig } = await import('./config.js');
    expect(parseAzureConfig({ accountname: 'myaccount', accountkey, container: 'registry' }).serviceUrl).toBe('https://myaccount.blob.core.windows.net');
    expect(parseAzureConfig({ accountname: 'myaccount', accountkey, container: 'registry', realm: 'core.chinacloudapi.cn' }).serviceUrl).toBe(
      'https://myaccount.blob.core.chinacloudapi.cn',
    );
  });
});
