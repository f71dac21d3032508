// The gcs driver against the real fake-gcs-server (bash tools/test-servers/fake-gcs.sh start): the
// shared conformance suite, then what is specific to GCS — part/compose resume across driver
// instances, signed redirect URLs, credentials and configuration errors — all while a guard proves
// that nothing asks a metadata server or leaves the loopback.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ApiError, Storage } from '@google-cloud/storage';
import { requireServer } from '@kuik/testing';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeDriverConformance } from '../../conformance/index.js';
import { contentBytes, MiB } from '../../conformance/content.js';
import { expectConfigError, expectRedirectsServe, writeAcrossRestarts } from '../../conformance/object-stores.js';
import { expectStorageError, walkPaths } from '../../conformance/probes.js';
import { isStorageError } from '../../errors.js';
import { createDriver, type DriverParameters } from '../../factory.js';
import type { StorageDriver } from '../../types.js';
import { mapGcsError } from './errors.js';
import { signUrlV4 } from './signer.js';
import './index.js';

// Fails (never skips) with the command that starts fake-gcs-server when it is not running.
const env = requireServer('fake-gcs');
const endpoint = env['FAKE_GCS_ENDPOINT'];
const projectId = env['FAKE_GCS_PROJECT_ID'];

/**
 * Stands in for the GCE metadata server (GCE_METADATA_HOST) and for any HTTP(S) proxy (HTTP_PROXY,
 * HTTPS_PROXY; NO_PROXY exempts the loopback), so that a metadata probe or a request to any
 * non-loopback host (a token endpoint, storage.googleapis.com) lands here and is recorded instead of
 * leaving the machine. Set before any Google client exists; the last test asserts it saw nothing.
 */
async function startGuard(): Promise<{ hits: string[]; port: number; close(): Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.headers.host ?? ''}${req.url ?? ''}`);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('kuik test guard: no metadata server here');
  });
  server.on('connect', (req, socket: net.Socket) => {
    hits.push(`CONNECT ${req.url ?? ''}`);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    hits,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
const guard = await startGuard();
const savedEnv = { ...process.env };
process.env['GCE_METADATA_HOST'] = `127.0.0.1:${guard.port}`;
delete process.env['GCE_METADATA_IP'];
// Unset, detection would ping the (guard's) metadata host: a probe is then visible, not skipped.
delete process.env['METADATA_SERVER_DETECTION'];
// The SDK would prefer this over apiEndpoint; the tests name the endpoint themselves.
delete process.env['STORAGE_EMULATOR_HOST'];
for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) process.env[k] = `http://127.0.0.1:${guard.port}`;
process.env['NO_PROXY'] = process.env['no_proxy'] = '127.0.0.1,localhost';

const run = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const bucket = `kuik-gcs-spec-${run}`;
const sdk = new Storage({ apiEndpoint: endpoint, projectId });

/** A throwaway service account key: lets the driver sign URLs, which fake-gcs-server serves unchecked. */
function testServiceAccount(): Record<string, string> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  return {
    type: 'service_account',
    project_id: projectId,
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey,
    client_email: `kuik-test@${projectId}.iam.gserviceaccount.com`,
    client_id: '1',
    token_uri: 'http://127.0.0.1:1/token', // never used: no credentials go to a custom endpoint
  };
}
const serviceAccount = testServiceAccount();

/** The SDK's own error type, as its HTTP layer builds it from a JSON error response. */
function apiError(code: number, message: string, reason?: string): ApiError {
  return Object.assign(new ApiError(message), { code, errors: reason ? [{ reason, message }] : [] });
}

function params(extra: DriverParameters = {}): DriverParameters {
  return { bucket, endpoint, projectid: projectId, ...extra };
}

async function bucketObjects(prefix: string): Promise<string[]> {
  const [files] = await sdk.bucket(bucket).getFiles({ prefix });
  return files.map((f) => f.name);
}

beforeAll(async () => {
  await sdk.createBucket(bucket);
});

afterAll(async () => {
  try {
    const b = sdk.bucket(bucket);
    const [files] = await b.getFiles();
    for (let i = 0; i < files.length; i += 64) await Promise.all(files.slice(i, i + 64).map((f) => f.delete({ ignoreNotFound: true })));
    await b.delete();
  } finally {
    await guard.close();
    for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
    Object.assign(process.env, savedEnv);
  }
});

describeDriverConformance('gcs (fake-gcs-server)', () => createDriver('gcs', params({ rootdirectory: '/conformance-root', credentials: serviceAccount })), {
  expectRedirect: true,
});

describe('gcs driver', () => {
  let d: StorageDriver;
  beforeAll(async () => {
    d = await createDriver('gcs', params({ rootdirectory: 'specific', credentials: JSON.stringify(serviceAccount) }));
  });
  afterAll(async () => {
    await d.close?.();
  });

  it('resumes a 40 MiB write across fresh driver instances (process restarts), composing 41 parts in rounds, sha256 intact', async () => {
    const p = `/resume-${run}/data`;
    const size = 40 * MiB + 12_345;
    // chunksize 1 MiB: 41 parts, more than one compose (32 sources) can take.
    const sessions = [7 * MiB, 1, 12 * MiB + 3, 256 * 1024 - 1, 4 * MiB];
    await writeAcrossRestarts(d, () => createDriver('gcs', params({ rootdirectory: 'specific', chunksize: MiB })), p, size, sessions);
    // Parts and compose temporaries are gone; nothing is in progress any more.
    expect(await bucketObjects('specific/~kuik/')).toEqual([]);
    await expectStorageError(d.writer(p, true), 'PathNotFound');
  }, 180_000);

  it('keeps an in-progress write as part objects out of sight; cancel and delete of a parent drop them', async () => {
    const p = `/parts-${run}/u/data`;
    const small = await createDriver('gcs', params({ rootdirectory: 'specific', chunksize: 256 * 1024 }));
    try {
      const w = await small.writer(p, false);
      await w.write(contentBytes(5, 600 * 1024)); // two 256 KiB parts, 88 KiB buffered
      await w.close(); // the rest as a third part
      expect(await bucketObjects(`specific/~kuik/uploads/parts-${run}/u/data/~`)).toEqual(
        [1, 2, 3].map((n) => `specific/~kuik/uploads/parts-${run}/u/data/~part-0000000${n}`),
      );
      expect(await d.list('/')).not.toContain('/~kuik');
      expect(await walkPaths(d, '/')).not.toContain(p);
      const w2 = await small.writer(p, true);
      expect(w2.size).toBe(600 * 1024);
      await w2.cancel();
      expect(await bucketObjects('specific/~kuik/')).toEqual([]);

      const w3 = await small.writer(p, false);
      await w3.write(Buffer.from('in progress'));
      await w3.close();
      await d.putContent(`/parts-${run}/u/startedat`, Buffer.from('now'));
      await d.delete(`/parts-${run}/u`); // what the registry does with a finished or purged upload
      expect(await bucketObjects('specific/~kuik/')).toEqual([]);
      await expectStorageError(small.writer(p, true), 'PathNotFound');
    } finally {
      await small.close?.();
    }
  });

  it('refuses to resume a write that lost a part', async () => {
    const p = `/holes-${run}/data`;
    const small = await createDriver('gcs', params({ rootdirectory: 'specific', chunksize: 256 * 1024 }));
    try {
      const w = await small.writer(p, false);
      await w.write(contentBytes(6, 700 * 1024));
      await w.close();
      await sdk.bucket(bucket).file(`specific/~kuik/uploads/holes-${run}/data/~part-00000002`).delete();
      const e = await expectStorageError(small.writer(p, true), 'Unknown');
      expect(e.message).toContain('lacks part 2');
      await small.writer(p, false); // starting afresh clears it
      expect(await bucketObjects('specific/~kuik/')).toEqual([]);
    } finally {
      await small.close?.();
    }
  });

  it('gives V4 signed GET and HEAD URLs on 127.0.0.1 that serve the right bytes; none without a private key', async () => {
    const p = `/redirect-${run}/blob`;
    const { get, head } = await expectRedirectsServe(d, p, contentBytes(3, 300_001));
    expect(get.searchParams.get('X-Goog-Algorithm')).toBe('GOOG4-RSA-SHA256');
    expect(get.searchParams.get('X-Goog-Expires')).toBe('60');
    expect(get.searchParams.get('X-Goog-Credential')).toMatch(/^kuik-test@/);
    expect(head.searchParams.get('X-Goog-Signature')).not.toBe(get.searchParams.get('X-Goog-Signature'));

    const unsigned = await createDriver('gcs', params({ rootdirectory: 'specific' }));
    expect(await unsigned.redirectURL?.(p)).toBeNull();
  });

  it('signs V4 URLs exactly as the SDK does', async () => {
    // The SDK's signer takes the key only through its deprecated `credentials` option.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const reference = new Storage({ apiEndpoint: endpoint, projectId, credentials: serviceAccount });
    warn.mockRestore();
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    for (const object of ['specific/a/b-c_d.e', 'x', 'specific/~kuik/uploads/p/~part-00000001']) {
      const [want] = await reference
        .bucket(bucket)
        .file(object)
        .getSignedUrl({ version: 'v4', action: 'read', accessibleAt: now, expires: now.getTime() + 600_000 });
      const got = signUrlV4({
        origin: endpoint,
        bucket,
        object,
        method: 'GET',
        clientEmail: serviceAccount['client_email'],
        privateKey: serviceAccount['private_key'],
        expiresIn: 600,
        now,
      });
      expect(got).toBe(want);
    }
  });

  it('reads a keyfile, and names the offending key for every bad parameter', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kuik-gcs-'));
    try {
      const keyfile = path.join(dir, 'sa.json');
      writeFileSync(keyfile, JSON.stringify(serviceAccount));
      const fromFile = await createDriver('gcs', params({ rootdirectory: 'specific', keyfile }));
      await fromFile.putContent(`/keyfile-${run}`, Buffer.from('x'));
      expect(typeof (await fromFile.redirectURL?.(`/keyfile-${run}`))).toBe('string');

      writeFileSync(path.join(dir, 'bad.json'), '{"type": "service_account",');
      const { private_key: _omitted, ...noKey } = serviceAccount;
      const cases: Array<[DriverParameters, string, RegExp]> = [
        [{ endpoint }, 'bucket', /required/],
        [params({ bucket: 'gs://x/y' }), 'bucket', /drop the "gs:\/\/" prefix/],
        [params({ bucket: 'Not_Valid!' }), 'bucket', /not a valid bucket name/],
        [params({ regionendpoint: 'x' }), 'regionendpoint', /unknown parameter/],
        [params({ chunksize: 1000 }), 'chunksize', /between/],
        [params({ chunksize: 300 * 1024 }), 'chunksize', /multiple of 262144/],
        [params({ endpoint: 'not a url' }), 'endpoint', /not a URL/],
        [params({ keyfile: path.join(dir, 'missing.json') }), 'keyfile', /cannot read/],
        [params({ keyfile: path.join(dir, 'bad.json') }), 'keyfile', /not valid JSON/],
        [params({ credentials: '{nope' }), 'credentials', /not valid JSON/],
        [params({ credentials: { client_email: 'x' } }), 'credentials', /must be a service account key \("type": "service_account", got null\)/],
        [params({ credentials: { type: 'authorized_user', refresh_token: 'x' } }), 'credentials', /got "authorized_user".*default credentials/],
        [params({ credentials: noKey }), 'credentials', /without "private_key"/],
        [params({ credentials: { ...serviceAccount, private_key: 'secret' } }), 'credentials', /not a PEM private key/],
        [params({ keyfile, credentials: serviceAccount }), 'credentials', /not both/],
        [params({ rootdirectory: 'a/../b' }), 'rootdirectory', /".." segment/],
        [params({ maxconcurrency: 10 }), 'maxconcurrency', /between 25 and/],
      ];
      for (const [p, key, message] of cases) await expectConfigError('gcs', p, key, message, 'PRIVATE KEY');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says clearly when the bucket is missing or the credentials are refused', async () => {
    const missing = await createDriver('gcs', params({ bucket: `kuik-missing-${run}` }));
    const e = await missing.healthCheck?.().catch((err: unknown) => err);
    expect(isStorageError(e)).toBe(true);
    expect((e as Error).message).toMatch(/bucket "kuik-missing-.*" does not exist/);
    await expect(d.healthCheck?.()).resolves.toBeUndefined();

    // fake-gcs-server checks no credentials: the refusals real GCS answers with are mapped here.
    for (const code of [401, 403]) {
      const refused = mapGcsError(apiError(code, 'Invalid Credentials', 'authError'), '/x');
      expect(refused?.code).toBe('Unknown');
      expect(refused?.message).toMatch(new RegExp(`refused the credentials \\(HTTP ${code}, authError\\).*storage.gcs.keyfile or credentials`));
    }
    expect(mapGcsError(apiError(429, 'rate'), '/x')?.code).toBe('Transient');
    expect(mapGcsError(apiError(503, 'busy'), '/x')?.code).toBe('Transient');
    expect(mapGcsError(apiError(416, 'range'), '/x')?.code).toBe('InvalidOffset');
    expect(mapGcsError(apiError(404, 'No such object: b/x'), '/x')?.code).toBe('PathNotFound');
    expect(mapGcsError(Object.assign(new Error('request to http://127.0.0.1:1/ failed, reason: connect ECONNREFUSED 127.0.0.1:1'), { type: 'system', code: 'ECONNREFUSED' }), '/x')?.code).toBe('Transient');
  });

  it('queues calls beyond maxconcurrency instead of failing them (distribution parameters carry over)', async () => {
    const narrow = await createDriver('gcs', params({ rootdirectory: 'specific', maxconcurrency: '25', useragent: 'kuik-test/1' }));
    const paths = Array.from({ length: 120 }, (_, i) => `/narrow-${run}/k${i}`);
    await Promise.all(paths.map((p, i) => narrow.putContent(p, Buffer.from(String(i)))));
    const got = await Promise.all(paths.map(async (p) => (await narrow.getContent(p)).toString()));
    expect(got).toEqual(paths.map((_, i) => String(i)));
    // An abort while queued leaves the queue.
    const blockers = paths.map((p) => narrow.stat(p));
    await expect(narrow.stat(paths[0], { signal: AbortSignal.timeout(1) })).rejects.toMatchObject({ name: expect.stringMatching(/AbortError|TimeoutError/) });
    await Promise.all(blockers);
    await narrow.delete(`/narrow-${run}`);
  });

  it('maps an unreachable endpoint to Transient', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const unreachable = await createDriver('gcs', params({ endpoint: `http://127.0.0.1:${closed}` }));
    await expectStorageError(unreachable.getContent('/x'), 'Transient');
  }, 60_000);

  // Last: everything above ran with the guard in place.
  it('sent nothing to a metadata server or off the loopback — and the guard would have seen it', async () => {
    expect(guard.hits).toEqual([]);
    // Positive control: the SDK authenticating against the endpoint with no credentials goes looking
    // for default credentials, which probes the metadata server — here, the guard.
    const probing = new Storage({ apiEndpoint: endpoint, projectId, useAuthWithCustomEndpoint: true });
    await probing
      .bucket(bucket)
      .getMetadata()
      .catch(() => undefined);
    expect(guard.hits.length).toBeGreaterThan(0);
    expect(guard.hits.join('\n')).toMatch(/computeMetadata|CONNECT|googleapis/);
  }, 60_000);
});
