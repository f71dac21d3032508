// Where a registry named in an image reference actually lives, and how to talk to it.
import { ConfigError } from '@kuik/config';
import { DOCKER_HUB_DOMAIN, DOCKER_HUB_LEGACY_DOMAIN } from '../reference.js';

/** Docker Hub's API endpoint: "docker.io" in a reference is served from this host. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

/** Connection settings of one registry host. */
export interface RegistryHostOptions {
  /** The host as written in image references: "docker.io", "ghcr.io", "localhost:5000". */
  host: string;
  /**
   * Insecure registries are reached over HTTPS without certificate verification, falling back
   * to plain HTTP when the server does not speak TLS (Docker's `insecure-registries` semantics).
   */
  insecure?: boolean;
  /** Forces the scheme (a registry configured by URL, such as the kuik registry itself). */
  scheme?: 'http' | 'https';
  /** Extra trusted CA certificates (PEM), added to Node's bundled roots. */
  ca?: readonly (string | Buffer)[];
}

/** The host:port the API is served on, e.g. docker.io → registry-1.docker.io. */
export function apiHostOf(host: string): string {
  const h = host.toLowerCase();
  return h === DOCKER_HUB_DOMAIN || h === DOCKER_HUB_LEGACY_DOMAIN ? DOCKER_HUB_API_HOST : h;
}

/** The name credentials are filed under: every Docker Hub alias folds to docker.io. */
export function canonicalRegistryHost(host: string): string {
  const h = host.toLowerCase().replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (h === DOCKER_HUB_LEGACY_DOMAIN || h === DOCKER_HUB_API_HOST || h === DOCKER_HUB_DOMAIN) return DOCKER_HUB_DOMAIN;
  return h;
}

const REGISTRY_HOST = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/;

/**
 * A registry host written in configuration ("ghcr.io", "10.0.0.1:5000"; a scheme or trailing
 * slash is tolerated), lower-cased; a ConfigError naming `key` when it is not one.
 */
export function registryHostSetting(key: string, value: string): string {
  const h = value.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (!REGISTRY_HOST.test(h)) throw new ConfigError(key, `must be a registry host like ghcr.io or 10.0.0.1:5000, got ${JSON.stringify(value)}`);
  return h;
}

/** Splits "http://127.0.0.1:5000" into the options of a registry configured by URL. */
export function hostOptionsFromUrl(url: string, extra: Omit<RegistryHostOptions, 'host' | 'scheme'> = {}): RegistryHostOptions {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`registry URL must be http or https: ${url}`);
  if (u.pathname !== '/' && u.pathname !== '') throw new Error(`registry URL must not have a path: ${url}`);
  return { ...extra, host: u.host, scheme: u.protocol === 'http:' ? 'http' : 'https' };
}
