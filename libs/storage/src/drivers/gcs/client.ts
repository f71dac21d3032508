// The SDK client the driver talks through.
//
// Credentials: a service account key (keyfile or credentials) becomes an explicit JWT client (the
// SDK's `credentials` option is deprecated); without one, the library's default credentials
// (GOOGLE_APPLICATION_CREDENTIALS, Workload Identity through the metadata server, ...).
// With `endpoint` (an emulator) the SDK treats the endpoint as custom and sends no credentials at
// all (useAuthWithCustomEndpoint stays false): it then never asks a token endpoint or the metadata
// server for anything, and with a projectid it never looks a project up either.
import { IdempotencyStrategy, Storage, type StorageOptions } from '@google-cloud/storage';
import { JWT } from 'google-auth-library';
import type { GcsConfig } from './config.js';

/** Retries per request (the SDK's exponential back-off on 408/429/5xx and network errors). */
export const MAX_RETRIES = 3;
// As distribution (storage.ScopeFullControl).
const SCOPES = ['https://www.googleapis.com/auth/devstorage.full_control'];

export function createStorage(cfg: GcsConfig): Storage {
  const options: StorageOptions = {
    retryOptions: {
      autoRetry: true,
      maxRetries: MAX_RETRIES,
      totalTimeout: 120,
      // Every call the driver makes is safe to repeat: uploads of whole objects and parts, composes
      // into the same name, copies, deletes (a repeated delete's 404 is ignored).
      idempotencyStrategy: IdempotencyStrategy.RetryAlways,
    },
  };
  if (cfg.endpoint) {
    options.apiEndpoint = cfg.endpoint;
    options.useAuthWithCustomEndpoint = false;
  }
  if (cfg.projectId) options.projectId = cfg.projectId;
  if (cfg.userAgent) options.userAgent = cfg.userAgent;
  const c = cfg.credentials;
  if (c) {
    options.authClient = new JWT({
      email: c.client_email,
      key: c.private_key,
      keyId: c.private_key_id,
      scopes: SCOPES,
      ...(c.universe_domain ? { universeDomain: c.universe_domain } : {}),
    });
    if (c.universe_domain) options.universeDomain = c.universe_domain;
  }
  return new Storage(options);
}
