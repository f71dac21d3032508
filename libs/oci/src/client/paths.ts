// API paths, built from validated parts only: a bad name, tag or digest fails here, before any
// request leaves, instead of becoming a strange URL.
import { tryParseDigest, type Digest } from '../digest.js';
import { assertRepositoryName, parseManifestReference } from '../reference.js';
import { RegistryClientError } from './errors.js';

export function manifestPath(repository: string, reference: string): string {
  parseManifestReference(reference); // throws TAG_INVALID / DIGEST_INVALID
  return `/v2/${assertRepositoryName(repository)}/manifests/${reference}`;
}

export function blobPath(repository: string, digest: Digest): string {
  if (!tryParseDigest(digest)) throw new RegistryClientError('protocol', `invalid digest ${JSON.stringify(digest)}`, { host: '' });
  return `/v2/${assertRepositoryName(repository)}/blobs/${digest}`;
}

export function uploadsPath(repository: string): string {
  return `/v2/${assertRepositoryName(repository)}/blobs/uploads/`;
}

export function tagsPath(repository: string): string {
  return `/v2/${assertRepositoryName(repository)}/tags/list`;
}
