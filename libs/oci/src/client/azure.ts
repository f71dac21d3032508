// Credentials for Azure Container Registry from the workload's own Azure identity, with no pull
// secret: AKS Workload Identity (the projected service-account token in AZURE_FEDERATED_TOKEN_FILE,
// with AZURE_CLIENT_ID and AZURE_TENANT_ID, which the AKS webhook sets). As `az acr login` does:
// the federated token buys a Microsoft Entra access token (client-credentials grant with a client
// assertion), which the registry's own /oauth2/exchange turns into an ACR refresh token; that is
// the password of the user 00000000-0000-0000-0000-000000000000. One refresh token per registry,
// renewed ahead of its expiry (cloud-token.ts). Off by default, like Google's.
import { readFile } from 'node:fs/promises';
import { readBounded } from './body.js';
import { CloudTokenCredentials, type CloudToken, type CloudTokenOptions } from './cloud-token.js';
import { canonicalRegistryHost } from './hosts.js';
import { Transport } from './transport.js';

/** <name>.azurecr.io, and the sovereign clouds' .azurecr.cn / .azurecr.us. */
const ACR_HOST = /^[a-z0-9-]+\.azurecr\.(?:io|cn|us)$/;
export const ACR_USER = '00000000-0000-0000-0000-000000000000';
const ACR_SCOPE = 'https://containerregistry.azure.net/.default';
const MAX_ANSWER_BYTES = 1 << 20;

export function isAzureRegistryHost(host: string): boolean {
  return ACR_HOST.test(host.toLowerCase());
}

export interface AzureCredentialsOptions extends CloudTokenOptions {
  /** Default off. */
  enabled?: boolean;
  /** More hosts that are ACR registries under another name (a DNS alias). */
  registries?: readonly string[];
  /** Where AKS Workload Identity's variables are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Registries reached over plain HTTP (the proxy's insecureRegistries; ACR itself is HTTPS). */
  plainHttp?: (host: string) => boolean;
}

export class AzureCredentials extends CloudTokenCredentials {
  private readonly extra: Set<string>;
  private readonly env: NodeJS.ProcessEnv;
  /** For Microsoft Entra and the registries' /oauth2/exchange; made on the first token. */
  private transport?: Transport;

  constructor(private readonly options: AzureCredentialsOptions = {}) {
    super(options);
    this.extra = new Set((options.registries ?? []).map(canonicalRegistryHost));
    this.env = options.env ?? process.env;
  }

  protected tokenKey(host: string): string | undefined {
    if (!this.options.enabled) return undefined;
    const h = canonicalRegistryHost(host);
    return this.extra.has(h) || isAzureRegistryHost(h) ? h : undefined;
  }

  protected async fetchToken(registry: string, signal: AbortSignal): Promise<CloudToken> {
    const env = this.env;
    const tokenFile = env['AZURE_FEDERATED_TOKEN_FILE'];
    const clientId = env['AZURE_CLIENT_ID'];
    const tenant = env['AZURE_TENANT_ID'];
    const missing = [!tokenFile && 'AZURE_FEDERATED_TOKEN_FILE', !clientId && 'AZURE_CLIENT_ID', !tenant && 'AZURE_TENANT_ID'].filter(Boolean);
    if (missing.length > 0 || !tokenFile || !clientId || !tenant) throw new Error(`${missing.join(', ')} not set (AKS Workload Identity sets them on pods of a ServiceAccount labelled for it)`);
    const authority = (env['AZURE_AUTHORITY_HOST'] || 'https://login.microsoftonline.com/').replace(/\/?$/, '/');
    const assertion = (await readFile(tokenFile, 'utf8')).trim();
    // No TLS exception for any host (host ''): Entra and ACR are verified as every HTTPS server is.
    this.transport ??= new Transport({ host: '', connections: 4 });
    const entra = await postForm(
      this.transport,
      new URL(`${encodeURIComponent(tenant)}/oauth2/v2.0/token`, authority),
      {
        grant_type: 'client_credentials',
        client_id: clientId,
        scope: ACR_SCOPE,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      },
      signal,
      'Microsoft Entra token',
    );
    if (typeof entra['access_token'] !== 'string') throw new Error('Microsoft Entra token: the answer holds no access_token');
    const exchanged = await postForm(
      this.transport,
      new URL(`${this.options.plainHttp?.(registry) ? 'http' : 'https'}://${registry}/oauth2/exchange`),
      { grant_type: 'access_token', service: registry, tenant, access_token: entra['access_token'] },
      signal,
      `${registry}/oauth2/exchange`,
    );
    const refresh = exchanged['refresh_token'];
    if (typeof refresh !== 'string' || refresh === '') throw new Error(`${registry}/oauth2/exchange: the answer holds no refresh_token`);
    return { username: ACR_USER, password: refresh, expiresAt: jwtExpiry(refresh) ?? this.now() + 60 * 60_000 };
  }

  protected failureMessage(host: string, _key: string, why: string): string {
    return (
      `Azure credentials for ${host}: ${why}. ` +
      'The workload needs an Azure identity (AKS Workload Identity on its ServiceAccount) with the AcrPull role on the registry'
    );
  }
}

/** A form POST through the client's transport (its time bounds; a redirect answers as a failure). */
async function postForm(transport: Transport, url: URL, form: Record<string, string>, signal: AbortSignal, what: string): Promise<Record<string, unknown>> {
  const res = await transport.request({
    method: 'POST',
    url,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
    signal,
  });
  const text = (await readBounded(res, MAX_ANSWER_BYTES, url.host, what)).toString('utf8');
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // reported below when the status says it failed
  }
  if (res.status < 200 || res.status > 299) {
    const detail = typeof body['error_description'] === 'string' ? body['error_description'] : typeof body['error'] === 'string' ? body['error'] : text.slice(0, 200);
    throw new Error(`${what}: HTTP ${res.status}${detail ? ` (${String(detail).split('\n')[0]})` : ''}`);
  }
  return body;
}

/** The `exp` of a JWT (ms since the epoch), without verifying it: only to know when to renew. */
function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
