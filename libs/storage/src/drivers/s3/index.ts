// Registers the "s3" driver: AWS S3 and S3-compatible servers. MinIO is not a driver of its own
// (distribution has none either): the chart's MinIO mode is this driver with regionendpoint,
// forcepathstyle and createbucket: true. Parameters (distribution's names; see config.ts):
//   bucket (required, no "s3://"), region (required unless regionendpoint), regionendpoint,
//   accesskey + secretkey (both or neither; neither: default AWS credential chain, e.g. IRSA),
//   forcepathstyle, rootdirectory, chunksize, multipartcopythresholdsize, multipartcopychunksize,
//   multipartcopymaxconcurrency, encrypt, keyid, storageclass, secure, skipverify, useragent,
//   objectacl, v4auth, createbucket.
// Redirects: the driver always offers presigned GET/HEAD URLs; the registry's `redirect` setting
// decides whether to use them. Shareable: every replica sees the same bucket, and writer state
// lives in the bucket, not in a process.
import { registerDriver, type DriverParameters } from '../../factory.js';
import { createS3Client, ensureBucket } from './client.js';
import { parseS3Config, S3 } from './config.js';
import { S3Driver } from './driver.js';
import { mapS3Error } from './errors.js';

export { S3Driver } from './driver.js';
export { parseS3Config, type S3Config } from './config.js';
export { mapS3Error } from './errors.js';

registerDriver({
  name: S3,
  shareable: true,
  validate: parseS3Config,
  async create(params: DriverParameters) {
    const cfg = parseS3Config(params);
    const clients = createS3Client(cfg);
    try {
      if (cfg.createBucket) await ensureBucket(cfg, clients);
    } catch (err) {
      clients.s3.destroy();
      clients.agents.http.destroy();
      clients.agents.https.destroy();
      throw err;
    }
    return new S3Driver(cfg, clients);
  },
  hooks: { mapError: mapS3Error },
});
