// Stand-ins for the two Azure services ACR's sign-in goes through, on loopback: Microsoft Entra's
// token endpoint (client-credentials grant with a federated client assertion, as AKS Workload
// Identity uses) and an ACR front — the registry's /oauth2/exchange, which turns an Entra access
// token into an ACR refresh token, with every other request passed through to a real registry
// (docker-registry behind basic auth, whose password is that refresh token). Neither service can
// run here. Each checks what it is given and counts calls.
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
}

export class MockAzure {
  readonly entraCalls: Record<string, string>[] = [];
  readonly exchangeCalls: Record<string, string>[] = [];
  /** When set, the Entra endpoint refuses with this error (e.g. invalid_client). */
  refuse?: string;
  private entra?: Server;
  private front?: Server;
  private accessToken = `entra-access-${Date.now()}`;

  constructor(private readonly o: MockAzureOptions) {}

  /** For AZURE_AUTHORITY_HOST. */
  get authorityHost(): string {
    return `http://127.0.0.1:${(this.entra!.address() as AddressInfo).port}/`;
  }

  /** The ACR front's host:port (the registry as clients name it). */
  get registryHost(): string {
    return `127.0.0.1:${(this.front!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.entra = createServer((req, res) => {
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
