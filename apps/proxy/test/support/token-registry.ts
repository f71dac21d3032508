// A registry with Docker token authentication, for the bearer flow: Debian's docker-registry
// configured with `auth: token` (it verifies every JWT's signature, issuer, audience, expiry
// and granted actions), and a token issuer of our own on loopback that signs RS256 JWTs with a
// key whose self-signed certificate is the registry's root bundle. The issuer counts requests,
// so tests can check token caching. (docker-registry.sh has no token mode: started here.)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSign, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { tempDir } from './servers.js';

export interface TokenRegistry {
  url: string;
  host: string;
  username: string;
  password: string;
  /** Token requests received, by the scope string(s) asked. */
  tokenRequests: string[];
  /** Lifetime of issued tokens, in seconds (changeable between requests). */
  expiresIn: number;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface S3Storage {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  bucket: string;
}

/**
 * With `s3`, blobs live in MinIO and blob GETs answer 307 to a presigned MinIO URL, as registries
 * on object storage do: a client that forwarded its Authorization there would be refused.
 */
export async function startTokenRegistry(options: { s3?: S3Storage } = {}): Promise<TokenRegistry> {
  const dir = tempDir('token-registry');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=kuik test token issuer', '-keyout', path.join(dir, 'token.key'), '-out', path.join(dir, 'token.crt')], {
    stdio: 'ignore',
  });
  const key = readFileSync(path.join(dir, 'token.key'), 'utf8');
  const certDer = Buffer.from(
    readFileSync(path.join(dir, 'token.crt'), 'utf8')
      .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
      .replace(/\s+/g, ''),
    'base64',
  );
  const service = 'kuik-test-registry';
  const issuer = 'kuik-test-issuer';
  const state = { username: 'tokenuser', password: 'token-pass', tokenRequests: [] as string[], expiresIn: 300 };

  const issuerServer: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    state.tokenRequests.push(scopes.join(' '));
    let user = '';
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [u, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (u !== state.username || p !== state.password) {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
        return;
      }
      user = u;
    }
    // Anonymous users may pull; the known user may do anything.
    const access = scopes.flatMap((s) => {
      const [type, name, actions] = s.split(':');
      if (type !== 'repository' || !name || !actions) return [];
      return [{ type, name, actions: actions.split(',').filter((a) => user || a === 'pull') }];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = { iss: issuer, sub: user, aud: service, exp: now + state.expiresIn, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const unsigned = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(unsigned).sign(key);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token: `${unsigned}.${b64url(signature)}`, expires_in: state.expiresIn, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((r) => issuerServer.listen(0, '127.0.0.1', r));
  const realm = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}/token`;

  const port = await freePort();
  const config = [
    'version: 0.1',
    'log: {level: warn, formatter: text, accesslog: {disabled: true}}',
    options.s3
      ? `storage: {s3: {accesskey: ${options.s3.accessKey}, secretkey: ${options.s3.secretKey}, region: ${options.s3.region}, regionendpoint: "${options.s3.endpoint}", bucket: ${options.s3.bucket}, secure: false, v4auth: true, rootdirectory: /registry}, redirect: {disable: false}, delete: {enabled: true}, maintenance: {uploadpurging: {enabled: false}}}`
      : `storage: {filesystem: {rootdirectory: ${dir}/storage}, delete: {enabled: true}, maintenance: {uploadpurging: {enabled: false}}}`,
    `http: {addr: 127.0.0.1:${port}, secret: kuik-token-test}`,
    `auth: {token: {realm: "${realm}", service: ${service}, issuer: ${issuer}, rootcertbundle: ${dir}/token.crt}}`,
  ].join('\n');
  writeFileSync(path.join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // AWS_CA_BUNDLE pointing at a missing file breaks the S3 driver's start-up.
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'AWS_CA_BUNDLE')),
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry (token auth) exited: ${stderr}\nIs it installed? bash tools/test-servers/docker-registry.sh install`);
    try {
      const r = await fetch(`${url}/v2/`);
      if (r.status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`docker-registry (token auth) did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Object.assign(state, {
    url,
    host: `127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGKILL');
      await new Promise((r) => issuerServer.close(r));
    },
  });
}
