// Registers the "gcs" driver: Google Cloud Storage through @google-cloud/storage. Parameters
// (distribution's names; see config.ts): bucket (required, no "gs://"), keyfile (path of a
// credentials JSON) or credentials (the JSON inline, as an object or a string) — neither: the
// library's default credentials (Workload Identity) — rootdirectory, chunksize (bytes per uploaded
// part, a multiple of 256 KiB, default 16 MiB), useragent, maxconcurrency (calls in flight, default
// 50, at least 25); kuik additions for emulators and tests: endpoint (e.g. fake-gcs-server's
// http://127.0.0.1:4443; no credentials are sent there) and projectid. Redirects: V4 signed URLs
// when a service account key is configured, else none. Shareable: every replica sees the same bucket, and writer state lives in the bucket.
import { registerDriver, type DriverParameters } from '../../factory.js';
import { createStorage } from './client.js';
import { GCS, parseGcsConfig } from './config.js';
import { GcsDriver } from './driver.js';
import { mapGcsError } from './errors.js';

export { GcsDriver } from './driver.js';
export { parseGcsConfig, type GcsConfig } from './config.js';
export { mapGcsError } from './errors.js';

registerDriver({
  name: GCS,
  shareable: true,
  validate: parseGcsConfig,
  create(params: DriverParameters) {
    const cfg = parseGcsConfig(params);
    return new GcsDriver(cfg, createStorage(cfg));
  },
  hooks: { mapError: mapGcsError },
});
