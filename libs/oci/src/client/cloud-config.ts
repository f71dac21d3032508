// The `credentials.ecr`, `credentials.google` and `credentials.azure` configuration sections (the
// workload's cloud identity), read the same way by the proxy and the controller.
import { ConfigError, type ConfigReader } from '@kuik/config';
import { AZURE_IDENTITIES, AzureCredentials, type AzureIdentity } from './azure.js';
import type { CredentialsResolver } from './credentials.js';
import { EcrCredentials } from './ecr.js';
import { GoogleCredentials } from './gcp.js';
import { registryHostSetting } from './hosts.js';

export interface EcrConfig {
  /** Amazon ECR hosts are authenticated with the workload's AWS identity. */
  enabled: boolean;
  /** More hosts that ECR serves (an alias, a pull-through endpoint), all in `region`. */
  registries: string[];
  region: string | null;
  /** The ECR API endpoint, when not AWS's public one (a VPC endpoint). */
  endpoint: string | null;
}

export const ECR_CONFIG_DEFAULTS = { enabled: true, registries: [], region: '', endpoint: '' };

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

function registryHosts(r: ConfigReader, at: string): string[] {
  return r.stringList('registries').map((v, i) => registryHostSetting(`${at}.registries[${i}]`, v));
}

/** Reads the section `ecr` of `credentials` (at: its dotted key, for messages). */
export function parseEcrConfig(ecr: ConfigReader, at: string): EcrConfig {
  ecr.onlyKnown(['enabled', 'registries', 'region', 'endpoint']);
  const registries = registryHosts(ecr, at);
  const region = ecr.string('region', '') || null;
  if (registries.length > 0 && !region) throw new ConfigError(`${at}.region`, `is required with ${at}.registries`);
  if (region && !REGION.test(region)) throw new ConfigError(`${at}.region`, `must be an AWS region like eu-west-3, got ${JSON.stringify(region)}`);
  const endpoint = ecr.string('endpoint', '') || null;
  if (endpoint) {
    let ok = false;
    try {
      ok = /^https?:$/.test(new URL(endpoint).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new ConfigError(`${at}.endpoint`, `must be an http(s) URL, got ${JSON.stringify(endpoint)}`);
  }
  return { enabled: ecr.bool('enabled', true), registries, region, endpoint };
}

/** The resolver for this configuration; undefined when ECR is off. */
export function ecrCredentialsFrom(c: EcrConfig): EcrCredentials | undefined {
  if (!c.enabled) return undefined;
  return new EcrCredentials({ registries: c.registries, ...(c.region ? { region: c.region } : {}), ...(c.endpoint ? { endpoint: c.endpoint } : {}) });
}

/**
 * A cloud registry family authenticated with the workload's identity, off by default: Google
 * (gcr.io, *-docker.pkg.dev; Application Default Credentials) or Azure (*.azurecr.io; AKS
 * Workload Identity or a managed identity). `registries`: more hosts of that family under another name.
 */
export interface IdentityRegistriesConfig {
  enabled: boolean;
  registries: string[];
}
export type GoogleConfig = IdentityRegistriesConfig;

export interface AzureConfig extends IdentityRegistriesConfig {
  /** auto: AKS Workload Identity when its variables are set, else the node's managed identity (IMDS). */
  identity: AzureIdentity;
  /** The user-assigned managed identity to ask IMDS for (on AKS: the kubelet identity); null: the node's only one. */
  managedIdentityClientId: string | null;
}

export const GOOGLE_CONFIG_DEFAULTS = { enabled: false, registries: [] };
export const AZURE_CONFIG_DEFAULTS: AzureConfig = { enabled: false, registries: [], identity: 'auto', managedIdentityClientId: null };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads the section `google` of `credentials` (at: its dotted key). */
export function parseIdentityRegistriesConfig(r: ConfigReader, at: string, more: readonly string[] = []): IdentityRegistriesConfig {
  r.onlyKnown(['enabled', 'registries', ...more]);
  return { enabled: r.bool('enabled', false), registries: registryHosts(r, at) };
}
export const parseGoogleConfig = (r: ConfigReader, at: string): GoogleConfig => parseIdentityRegistriesConfig(r, at);

/** Reads the section `azure` of `credentials` (at: its dotted key). */
export function parseAzureConfig(r: ConfigReader, at: string): AzureConfig {
  const base = parseIdentityRegistriesConfig(r, at, ['identity', 'managedIdentityClientId']);
  const identity = r.oneOf('identity', AZURE_IDENTITIES, 'auto');
  const clientId = r.string('managedIdentityClientId', '');
  if (clientId && !GUID.test(clientId)) throw new ConfigError(`${at}.managedIdentityClientId`, `must be a client id (a GUID like 00000000-0000-0000-0000-000000000000), got ${JSON.stringify(clientId)}`);
  if (clientId && identity === 'workload') throw new ConfigError(`${at}.managedIdentityClientId`, `names a managed identity, which ${at}.identity "workload" never uses`);
  return { ...base, identity, managedIdentityClientId: clientId ? clientId.toLowerCase() : null };
}

export interface CloudCredentialsConfig {
  ecr: EcrConfig;
  google: GoogleConfig;
  azure: AzureConfig;
}

/**
 * The cloud-identity resolvers these sections turn on, in order (ECR, Google, Azure).
 * plainHttp: hosts reached over HTTP (insecure registries), for ACR's token exchange.
 */
export function cloudCredentialsFrom(c: CloudCredentialsConfig, plainHttp?: (host: string) => boolean): CredentialsResolver[] {
  const out: CredentialsResolver[] = [];
  const ecr = ecrCredentialsFrom(c.ecr);
  if (ecr) out.push(ecr);
  if (c.google.enabled) out.push(new GoogleCredentials({ enabled: true, registries: c.google.registries }));
  if (c.azure.enabled) {
    const { registries, identity, managedIdentityClientId } = c.azure;
    out.push(new AzureCredentials({ enabled: true, registries, identity, ...(managedIdentityClientId ? { managedIdentityClientId } : {}), ...(plainHttp ? { plainHttp } : {}) }));
  }
  return out;
}
