// Stand-ins for the Azure services ACR's sign-in goes through, on loopback: Microsoft Entra's
// token endpoint (client-credentials grant with a federated client assertion, as AKS Workload
// Identity uses), the instance metadata service's managed-identity token endpoint (IMDS, as a
// node's managed identity uses), and an ACR front — the registry's /oauth2/exchange, which turns
// an Entra access token into an ACR refresh token, with every other request passed through to a
// real registry (docker-registry behind basic auth, whose password is that refresh token). None of
// these services can run here. Each checks what it is given and counts calls.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { withEnv } from './env.js';
import { closeServer, listenOnLoopback } from './loopback.js';
import type { AddressInfo } from 'node:net';

export interface MockAzureOptions {
  tenant: string;
  clientId: string;
  /** The federated token the workload presents (the content of AZURE_FEDERATED_TOKEN_FILE). */
  federatedToken: string;
  /** The refresh token /oauth2/exchange hands out (the registry's htpasswd password). */
  refreshToken: string;
  /** Where the ACR front passes registry requests (http://127.0.0.1:port). */
  registryUrl: string;
  /** Client ids of the node's user-assigned managed identities (IMDS refuses others); a request without one gets the system-assigned identity. */
  managedIdentities?: readonly string[];
}

export class MockAzure {
  readonly entraCalls: Record<string, string>[] = [];
  readonly exchangeCalls: Record<string, string>[] = [];
  /** Query and Metadata header of each IMDS token request. */
  readonly imdsCalls: { query: Record<string, string>; metadata: string | undefined }[] = [];
  /** When set, Entra and IMDS refuse with this error (e.g. invalid_client). */
  refuse?: string;
  private entra?: Server;
  private front?: Server;
  /** Shaped as Entra's: a JWT whose claims name the tenant (tid), which ACR's exchange checks. */
  private readonly accessToken: string;

  constructor(private readonly o: MockAzureOptions) {
    const claims = { tid: o.tenant, aud: 'https://containerregistry.azure.net', exp: Math.floor(Date.now() / 1000) + 3600 };
    this.accessToken = `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.entra-access-${Date.now()}`;
  }

  /** For AZURE_AUTHORITY_HOST. */
  get authorityHost(): string {
    return `http://127.0.0.1:${(this.entra!.address() as AddressInfo).port}/`;
  }

  /** For AZURE_POD_IDENTITY_AUTHORITY_HOST (IMDS is served by the same loopback server). */
  get imdsUrl(): string {
    return this.authorityHost;
  }

  /** The ACR front's host:port (the registry as clients name it). */
  get registryHost(): string {
    return `127.0.0.1:${(this.front!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.entra = createServer((req, res) => {
      if (req.method === 'GET' && (req.url ?? '').startsWith('/metadata/identity/oauth2/token?')) {
        this.imds(req, (status, body) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body)));
        return;
      }
      void readForm(req).then((form) => {
        this.entraCalls.push(form);
        const json = (status: number, body: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
        if (req.method !== 'POST' || req.url !== `/${this.o.tenant}/oauth2/v2.0/token`) {
          json(404, { error: 'not_found' });
          return;
        }
        if (this.refuse) {
          json(401, { error: this.refuse, error_description: `AADSTS700016: ${this.refuse}` });
          return;
        }
        const ok =
          form['grant_type'] === 'client_credentials' &&
          form['client_id'] === this.o.clientId &&
          form['client_assertion_type'] === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' &&
          form['client_assertion'] === this.o.federatedToken &&
          form['scope'] === 'https://containerregistry.azure.net/.default';
        if (ok) json(200, { token_type: 'Bearer', expires_in: 3599, access_token: this.accessToken });
        else json(400, { error: 'invalid_request', error_description: 'unexpected token request' });
      });
    });
    this.front = createServer((req, res) => {
      if (req.url === '/oauth2/exchange') {
        void readForm(req).then((form) => {
          this.exchangeCalls.push(form);
          const json = (status: number, body: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
          const ok = req.method === 'POST' && form['grant_type'] === 'access_token' && form['access_token'] === this.accessToken && form['tenant'] === this.o.tenant && form['service'] === this.registryHost;
          if (ok) json(200, { refresh_token: this.o.refreshToken });
          else json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad exchange request' }] });
        });
        return;
      }
      const target = new URL(req.url ?? '/', this.o.registryUrl);
      const upstream = request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    // The front passes registry traffic through: a minute per request, as blobs may be large.
    for (const s of [this.entra, this.front]) await listenOnLoopback(s, 60_000);
    return this;
  }

  /** IMDS's managed-identity token endpoint, with its checks: Metadata header, api-version, resource, known client id. */
  private imds(req: IncomingMessage, json: (status: number, body: unknown) => void): void {
    const query = Object.fromEntries(new URL(req.url ?? '/', 'http://imds').searchParams);
    const metadata = req.headers['metadata'] as string | undefined;
    this.imdsCalls.push({ query, metadata });
    if (metadata !== 'true') return json(400, { error: 'invalid_request', error_description: 'Required metadata header not specified' });
    if (!query['api-version'] || query['resource'] !== 'https://containerregistry.azure.net') return json(400, { error: 'invalid_request', error_description: 'unexpected api-version or resource' });
    if (this.refuse) return json(400, { error: this.refuse, error_description: `Identity refused: ${this.refuse}` });
    const clientId = query['client_id'];
    if (clientId !== undefined && !(this.o.managedIdentities ?? []).includes(clientId)) return json(400, { error: 'invalid_request', error_description: 'Identity not found' });
    json(200, { access_token: this.accessToken, expires_in: '86399', resource: query['resource'], token_type: 'Bearer', client_id: clientId ?? 'system-assigned' });
  }

  async stop(): Promise<void> {
    await closeServer(this.entra);
    await closeServer(this.front);
  }
}

function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 << 10) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => resolve(Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')))));
  });
}

/**
 * Sets what AKS Workload Identity gives a pod (AZURE_FEDERATED_TOKEN_FILE with the token,
 * AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_AUTHORITY_HOST pointing at the mock) for this process.
 * Returns a function that restores the environment.
 */
export function useAzureWorkloadIdentity(azure: MockAzure, o: Pick<MockAzureOptions, 'tenant' | 'clientId' | 'federatedToken'>): () => void {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'kuik-azure-identity-')), 'token');
  writeFileSync(file, o.federatedToken + '\n');
  return withEnv([], { AZURE_FEDERATED_TOKEN_FILE: file, AZURE_CLIENT_ID: o.clientId, AZURE_TENANT_ID: o.tenant, AZURE_AUTHORITY_HOST: azure.authorityHost });
}

/**
 * Makes this process look like a pod on an Azure node without Workload Identity (its variables
 * unset), with IMDS at the mock (AZURE_POD_IDENTITY_AUTHORITY_HOST). Returns the restore function.
 */
export function useAzureManagedIdentity(azure: MockAzure): () => void {
  return withEnv(['AZURE_FEDERATED_TOKEN_FILE', 'AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_AUTHORITY_HOST'], { AZURE_POD_IDENTITY_AUTHORITY_HOST: azure.imdsUrl });
}
