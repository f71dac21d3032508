// Registers the "filesystem" driver. Parameters (distribution's names):
//   rootdirectory  absolute directory holding every key (default /var/lib/registry; created if missing)
//   sync           fsync each file before it is published and its directory after (default true)
//   sessiontimeout how long an upload's writer may leave its file untouched before another process
//                  takes the upload over (default 60s; Go-style duration or seconds, at least 100ms):
//                  when a process dies mid-upload, the upload resumes elsewhere after this long
//   maxthreads     accepted for compatibility with distribution's configuration, unused
// Shareable: several registry processes may use one directory (an RWX volume); see driver.ts.
//
// Why sync defaults to true: without it, a crash of the node can leave a blob or link that was
// acknowledged to a client empty or missing after reboot, and a cache must never serve a wrong
// blob. It costs little on large blobs (one fsync per commit, the disk's own write speed) and
// most on many small writes: on the 2-core CI VM, 10,000 × 4 KiB putContent ran at ~2,000 ops/s
// with sync against ~3,000–8,600 without (tools/bench/storage.mjs). Turn it off only where the
// directory does not outlive the node anyway (emptyDir, tmpfs).
import { registerDriver, type DriverParameters } from '../../factory.js';
import { FILESYSTEM, parseFilesystemConfig } from './config.js';
import { FilesystemDriver } from './driver.js';
import { mapFilesystemError } from './errors.js';

export { FilesystemDriver } from './driver.js';
export { parseFilesystemConfig, type FilesystemConfig } from './config.js';

registerDriver({
  name: FILESYSTEM,
  shareable: true,
  // Checks the parameters and that rootdirectory is usable (it is created when missing).
  validate: parseFilesystemConfig,
  async create(params: DriverParameters) {
    return new FilesystemDriver(await parseFilesystemConfig(params));
  },
  hooks: { mapError: mapFilesystemError },
});
