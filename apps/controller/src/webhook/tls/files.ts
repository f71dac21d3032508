// TLS from mounted files (cert-manager mode: the chart mounts the Certificate's Secret). The
// kubelet updates a mounted Secret by swapping a symlink, which inotify-based watching misses on
// some filesystems; polling the contents is simple and always right.
import { readFile } from 'node:fs/promises';
import type { Logger } from '@kuik/observability';
import type { KeyPairPem } from './certs.js';

export async function readTlsFiles(certFile: string, keyFile: string): Promise<KeyPairPem> {
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { cert, key };
}

/** Calls `onChange` with the initial pair and whenever the files change, until `signal` aborts. */
export async function watchTlsFiles(
  certFile: string,
  keyFile: string,
  onChange: (pair: KeyPairPem) => void,
  logger: Logger,
  signal: AbortSignal,
  intervalMs = 10_000,
): Promise<void> {
  let last = '';
  while (!signal.aborted) {
    try {
      const pair = await readTlsFiles(certFile, keyFile);
      const fingerprint = pair.cert + pair.key;
      if (fingerprint !== last) {
        last = fingerprint;
        onChange(pair);
        logger.info('webhook TLS certificate loaded from files', { certFile });
      }
    } catch (err) {
      logger.warn('cannot read the webhook TLS files', { certFile, keyFile, err });
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, intervalMs);
      signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  }
}
