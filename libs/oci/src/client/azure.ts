// Credentials for Azure Container Registry from the workload's own Azure identity, with no pull
// secret, in one of two ways:
//   workload  AKS Workload Identity: the projected service-account token in
//             AZURE_FEDERATED_TOKEN_FILE (with AZURE_CLIENT_ID and AZURE_TENANT_ID, which the AKS
//             webhook sets) buys a Microsoft Entra access token (client-credentials grant with a
//             client assertion).
//   managed   A managed identity of the node, from the instance metadata service (IMDS,
//             169.254.169.254, or AZURE_POD_IDENTITY_AUTHORITY_HOST as Azure's SDKs read it): on
//             AKS the kubelet identity that `az aks update --attach-acr` grants AcrPull, named by
//             its client id when the node has several.
// `auto` (the default) takes the first when its variables are set, the second otherwise. As
// `az acr login` does, the registry's own /oauth2/exchange then turns the Entra access token into
// an ACR refresh token, the password of the user 00000000-0000-0000-0000-000000000000. One refresh
// token per registry, renewed ahead of its expiry (cloud-token.ts). Off by default, like Google's.
import { readFile } from 'node:fs/promises';
import { readBounded } from './body.js';
import { CloudTokenCredentials, type CloudToken, type CloudTokenOptions } from './cloud-token.js';
import { canonicalRegistryHost } from './hosts.js';
import { Transport } from './transport.js';

/** <name>.azurecr.io, and the sovereign clouds' .azurecr.cn / .azurecr.us. */
const ACR_HOST = /^[a-z0-9-]+\.azurecr\.(?:io|cn|us)$/;
export const ACR_USER = '00000000-0000-0000-0000-000000000000';
const ACR_SCOPE = 'https://containerregistry.azure.net/.default';
const ACR_RESOURCE = 'https://containerregistry.azure.net';
const IMDS_DEFAULT = 'http://169.254.169.254';
const MAX_ANSWER_BYTES = 1 << 20;

export type AzureIdentity = 'auto' | 'workload' | 'managed';
export const AZURE_IDENTITIES: readonly AzureIdentity[] = ['auto', 'workload', 'managed'];

export function isAzureRegistryHost(host: string): boolean {
  return ACR_HOST.test(host.toLowerCase());
}

export interface AzureCredentialsOptions extends CloudTokenOptions {
  /** Default off. */
  enabled?: boolean;
  /** More hosts that are ACR registries under another name (a DNS alias). */
  registries?: readonly string[];
  /** Which identity (default auto: Workload Identity when its variables are set, else managed). */
  identity?: AzureIdentity;
  /** Client id of the user-assigned managed identity to ask IMDS for (default: the node's only one). */
  managedIdentityClientId?: string;
  /** Where the variables are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Registries reached over plain HTTP (the proxy's insecureRegistries; ACR itself is HTTPS). */
  plainHttp?: (host: string) => boolean;
}

export class AzureCredentials extends CloudTokenCredentials {
  private readonly extra: Set<string>;
  private readonly env: NodeJS.ProcessEnv;
  /** For Microsoft Entra and the registries' /oauth2/exchange; made on the first token. */
  private transport?: Transport;
  /** For IMDS: a node outside Azure has nothing at its address, so it fails in seconds. */
  private imdsTransport?: Transport;

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
    // No TLS exception for any host (host ''): Entra and ACR are verified as every HTTPS server is.
    this.transport ??= new Transport({ host: '', connections: 4 });
    const { accessToken, tenant } = this.useManagedIdentity() ? await this.managedIdentityToken(signal) : await this.workloadIdentityToken(this.transport, signal);
    const exchanged = await postForm(
      this.transport,
      new URL(`${this.options.plainHttp?.(registry) ? 'http' : 'https'}://${registry}/oauth2/exchange`),
      { grant_type: 'access_token', service: registry, ...(tenant ? { tenant } : {}), access_token: accessToken },
      signal,
      `${registry}/oauth2/exchange`,
    );
    const refresh = exchanged['refresh_token'];
    if (typeof refresh !== 'string' || refresh === '') throw new Error(`${registry}/oauth2/exchange: the answer holds no refresh_token`);
    return { username: ACR_USER, password: refresh, expiresAt: jwtExpiry(refresh) ?? this.now() + 60 * 60_000 };
  }

  private useManagedIdentity(): boolean {
    const identity = this.options.identity ?? 'auto';
    return identity === 'managed' || (identity === 'auto' && !this.env['AZURE_FEDERATED_TOKEN_FILE']);
  }

  /** AKS Workload Identity: the federated token for an Entra access token. */
  private async workloadIdentityToken(transport: Transport, signal: AbortSignal): Promise<{ accessToken: string; tenant: string }> {
    const env = this.env;
    const tokenFile = env['AZURE_FEDERATED_TOKEN_FILE'];
    const clientId = env['AZURE_CLIENT_ID'];
    const tenant = env['AZURE_TENANT_ID'];
    const missing = [!tokenFile && 'AZURE_FEDERATED_TOKEN_FILE', !clientId && 'AZURE_CLIENT_ID', !tenant && 'AZURE_TENANT_ID'].filter(Boolean);
    if (missing.length > 0 || !tokenFile || !clientId || !tenant) throw new Error(`${missing.join(', ')} not set (AKS Workload Identity sets them on pods of a ServiceAccount labelled for it)`);
    const authority = (env['AZURE_AUTHORITY_HOST'] || 'https://login.microsoftonline.com/').replace(/\/?$/, '/');
    const assertion = (await readFile(tokenFile, 'utf8')).trim();
    const entra = await postForm(
      transport,
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
    return { accessToken: entra['access_token'], tenant };
  }

  /**
   * A managed identity of the node, from IMDS (GET with `Metadata: true`; IMDS refuses requests
   * that a proxy forwarded or that lack the header). The tenant comes from the token's own `tid`.
   */
  private async managedIdentityToken(signal: AbortSignal): Promise<{ accessToken: string; tenant?: string }> {
    const base = (this.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'] || IMDS_DEFAULT).replace(/\/?$/, '/');
    const url = new URL('metadata/identity/oauth2/token', base);
    url.searchParams.set('api-version', '2018-02-01');
    url.searchParams.set('resource', ACR_RESOURCE);
    if (this.options.managedIdentityClientId) url.searchParams.set('client_id', this.options.managedIdentityClientId);
    const what = `managed identity token from the instance metadata service (${url.host})`;
    this.imdsTransport ??= new Transport({ host: '', connections: 2, timeouts: { connectMs: 2000, headersMs: 5000, bodyIdleMs: 5000 } });
    let res;
    try {
      res = await this.imdsTransport.request({ method: 'GET', url, headers: { Metadata: 'true', Accept: 'application/json' }, signal, redirect: 'manual' });
    } catch (err) {
      throw new Error(`${what}: ${(err as Error).message}`);
    }
    const text = (await readBounded(res, MAX_ANSWER_BYTES, url.host, what)).toString('utf8');
    const body = parseJson(text);
    if (res.status < 200 || res.status > 299) throw new Error(`${what}: HTTP ${res.status}${errorDetail(body, text)}`);
    const accessToken = body['access_token'];
    if (typeof accessToken !== 'string' || accessToken === '') throw new Error(`${what}: the answer holds no access_token`);
    const tid = jwtClaims(accessToken)?.['tid'];
    return { accessToken, ...(typeof tid === 'string' ? { tenant: tid } : {}) };
  }

  protected failureMessage(host: string, _key: string, why: string): string {
    const needs = this.useManagedIdentity()
      ? `a managed identity of the node${this.options.managedIdentityClientId ? ` (client id ${this.options.managedIdentityClientId})` : ''} with the AcrPull role on the registry (on AKS: the kubelet identity, attached with az aks update --attach-acr), or AKS Workload Identity on its ServiceAccount`
      : 'an Azure identity (AKS Workload Identity on its ServiceAccount) with the AcrPull role on the registry';
    return `Azure credentials for ${host}: ${why}. The workload needs ${needs}`;
  }
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** " (<first line of error_description, error, or the text>)" of an error answer, or "". */
function errorDetail(body: Record<string, unknown>, text: string): string {
  const d = typeof body['error_description'] === 'string' ? body['error_description'] : typeof body['error'] === 'string' ? body['error'] : text.slice(0, 200);
  return d ? ` (${d.split('\n')[0]})` : '';
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
  const body = parseJson(text);
  if (res.status < 200 || res.status > 299) throw new Error(`${what}: HTTP ${res.status}${errorDetail(body, text)}`);
  return body;
}

/** The claims of a JWT, not verified: only read to know when to renew and which tenant issued it. */
function jwtClaims(token: string): Record<string, unknown> | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The `exp` of a JWT in ms since the epoch. */
function jwtExpiry(token: string): number | undefined {
  const exp = jwtClaims(token)?.['exp'];
  return typeof exp === 'number' ? exp * 1000 : undefined;
}
