// Registers the "azure" driver: Azure Blob Storage through @azure/storage-blob, with block blobs.
// Parameters (distribution's names; see config.ts): accountname and accountkey (both required:
// shared-key authentication), container (required), realm (default core.windows.net: the service is
// https://<accountname>.blob.<realm>), serviceurl (overrides that, e.g. Azurite's
// http://127.0.0.1:10000/devstoreaccount1), rootdirectory; kuik addition: createcontainer (default
// false). Redirects: read-only SAS URLs signed with the account key. Shareable: every replica sees
// the same container, and writer state lives in it.
import { registerDriver, type DriverParameters } from '../../factory.js';
import { createContainerClient, ensureContainer } from './client.js';
import { AZURE, parseAzureConfig } from './config.js';
import { AzureDriver } from './driver.js';
import { mapAzureError } from './errors.js';

export { AzureDriver } from './driver.js';
export { parseAzureConfig, type AzureConfig } from './config.js';
export { mapAzureError } from './errors.js';

registerDriver({
  name: AZURE,
  shareable: true,
  validate: parseAzureConfig,
  async create(params: DriverParameters) {
    const cfg = parseAzureConfig(params);
    const container = createContainerClient(cfg);
    if (cfg.createContainer) await ensureContainer(cfg, container);
    return new AzureDriver(cfg, container);
  },
  hooks: { mapError: mapAzureError },
});
