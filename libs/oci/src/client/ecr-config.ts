// The `credentials.ecr` configuration section, read the same way by the proxy and the controller.
import { ConfigError, type ConfigReader } from '@kuik/config';
import { EcrCredentials } from './ecr.js';

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

const HOST = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** Reads the section `ecr` of `credentials` (at: its dotted key, for messages). */
export function parseEcrConfig(ecr: ConfigReader, at: string): EcrConfig {
  ecr.onlyKnown(['enabled', 'registries', 'region', 'endpoint']);
  const registries = ecr.stringList('registries').map((v, i) => {
    const h = v.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '');
    if (!HOST.test(h)) throw new ConfigError(`${at}.registries[${i}]`, `must be a registry host like registry.example.com or 10.0.0.1:5000, got ${JSON.stringify(v)}`);
    return h;
  });
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
