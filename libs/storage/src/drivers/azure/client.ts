// The SDK client the driver talks through (shared-key authentication), and start-up container
// creation (createcontainer: true).
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { AZURE, type AzureConfig } from './config.js';
import { mapAzureError } from './errors.js';

/** Attempts per request (the SDK's exponential retry on 5xx, 503 throttling and network errors). */
export const MAX_TRIES = 4;

export function createContainerClient(cfg: AzureConfig): ContainerClient {
  const credential = new StorageSharedKeyCredential(cfg.accountName, cfg.accountKey);
  const service = new BlobServiceClient(cfg.serviceUrl, credential, {
    retryOptions: { maxTries: MAX_TRIES, retryDelayInMs: 500, maxRetryDelayInMs: 16_000 },
  });
  return service.getContainerClient(cfg.container);
}

export async function ensureContainer(cfg: AzureConfig, container: ContainerClient): Promise<void> {
  try {
    await container.createIfNotExists();
  } catch (err) {
    const why = mapAzureError(err, undefined)?.message ?? `${AZURE}: ${err instanceof Error ? err.message : String(err)}`;
    throw new Error(`${AZURE}: cannot create container "${cfg.container}" (createcontainer: true): ${why}`, { cause: err });
  }
}
