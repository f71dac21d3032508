// ImageRegistries on @kuik/oci's registry client (placeholder until the client is exported).
import type { ControllerConfig } from '../config.js';
import type { ImageRegistries } from './port.js';

export function createImageRegistries(_config: ControllerConfig): ImageRegistries {
  const missing = () => Promise.reject(new Error('the OCI registry client is not available yet'));
  return { headCached: missing, headUpstream: missing, copyToCache: missing, deleteCached: missing, pingCache: missing };
}
