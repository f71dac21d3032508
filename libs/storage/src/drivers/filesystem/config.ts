// Parameters of the filesystem driver, checked once at start-up; every error names its key.
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DriverConfigError } from '../../errors.js';
import { param, type DriverParameters } from '../../factory.js';
import { errno } from './fsops.js';

export const FILESYSTEM = 'filesystem';

export interface FilesystemConfig {
  /** Absolute, normalised directory under which every key is stored. */
  rootdirectory: string;
  /** fsync files and directories before a write is reported done (close, commit, putContent, move). */
  sync: boolean;
  /**
   * Milliseconds after which an upload session whose file nothing touched is abandoned (its
   * process died) and another process may take it over; see writer.ts.
   */
  sessiontimeout: number;
}

/** Far above a heartbeat (5 s) and any stall of a healthy process, and the clock skew of nodes. */
const DEFAULT_SESSION_TIMEOUT_MS = 60_000;

export async function parseFilesystemConfig(params: DriverParameters): Promise<FilesystemConfig> {
  // maxthreads is distribution's knob for its goroutine pool; accepted so existing configurations
  // keep working, and unused: libuv's thread pool already bounds concurrent filesystem calls.
  param.onlyKnown(FILESYSTEM, params, ['rootdirectory', 'sync', 'sessiontimeout', 'maxthreads']);
  param.int(FILESYSTEM, params, 'maxthreads', 100, 25);
  const raw = param.string(FILESYSTEM, params, 'rootdirectory', '/var/lib/registry');
  if (!path.isAbsolute(raw)) throw new DriverConfigError(FILESYSTEM, 'rootdirectory', `must be an absolute path, got ${JSON.stringify(raw)}`);
  const rootdirectory = path.resolve(raw);
  const sync = param.bool(FILESYSTEM, params, 'sync', true);
  const sessiontimeout = param.duration(FILESYSTEM, params, 'sessiontimeout', DEFAULT_SESSION_TIMEOUT_MS, 100);

  try {
    await mkdir(rootdirectory, { recursive: true });
  } catch (e) {
    throw new DriverConfigError(FILESYSTEM, 'rootdirectory', `cannot create ${rootdirectory}: ${errno(e) ?? String(e)}`);
  }
  const s = await stat(rootdirectory);
  if (!s.isDirectory()) throw new DriverConfigError(FILESYSTEM, 'rootdirectory', `${rootdirectory} is not a directory`);
  try {
    await access(rootdirectory, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    throw new DriverConfigError(FILESYSTEM, 'rootdirectory', `${rootdirectory} is not writable by uid ${process.getuid?.() ?? '?'}`);
  }
  return { rootdirectory, sync, sessiontimeout };
}
