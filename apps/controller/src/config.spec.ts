import { describe, expect, it } from '@jest/globals';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadControllerConfig } from './config.js';

describe('controller configuration', () => {
  it('has the 1.x defaults', () => {
    const c = loadControllerConfig([], { POD_NAMESPACE: 'kuik-system', POD_NAME: 'ctrl-0' });
    expect(c).toMatchObject({
      namespace: 'kuik-system',
      identity: 'ctrl-0',
      maxConcurrentCachedImageReconciles: 3,
      cachedImagesExpiryDelayMs: 30 * 86_400_000,
      webhook: { proxyAddress: 'localhost:7439', ignorePullPolicyAlways: true, requireProxyReadyNode: true, podPullSecrets: true, workerThread: true, listen: { host: '0.0.0.0', port: 9443 } },
      leaderElection: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
    });
    expect(c.webhook.tls.mode).toBe('self-managed');
  });

  it('reads a YAML file and CONTROLLER_* variables', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kuik-ctrl-'));
    const f = path.join(dir, 'c.yaml');
    writeFileSync(f, 'webhook:\n  ignoredImages: ["^quay\\\\.io/"]\n  tls: {mode: files, certFile: /c, keyFile: /k}\ncachedImagesExpiryDelay: 48h\n');
    const c = loadControllerConfig(['--config', f], { CONTROLLER_MAXCONCURRENTCACHEDIMAGERECONCILES: '5', CONTROLLER_WEBHOOK_IGNOREPULLPOLICYALWAYS: 'false' });
    expect(c.maxConcurrentCachedImageReconciles).toBe(5);
    expect(c.webhook.ignorePullPolicyAlways).toBe(false);
    expect(c.webhook.ignoredImages[0]!.test('quay.io/a')).toBe(true);
    expect(c.webhook.tls).toEqual({ mode: 'files', certFile: '/c', keyFile: '/k' });
    expect(c.cachedImagesExpiryDelayMs).toBe(48 * 3_600_000);
  });

  it('names the key of a bad value', () => {
    expect(() => loadControllerConfig([], { CONTROLLER_MAXCONCURRENTCACHEDIMAGERECONCILES: '0' })).toThrow('config maxConcurrentCachedImageReconciles: must be between 1 and 100, got 0');
    expect(() => loadControllerConfig([], { CONTROLLER_WEBHOOK_IGNOREDIMAGES: '[' })).toThrow(/webhook\.ignoredImages\[0\]: is not a valid regular expression/);
    expect(() => loadControllerConfig([], { CONTROLLER_REGISTRY_URL: 'ftp://x' })).toThrow(/registry\.url/);
    expect(() => loadControllerConfig([], { CONTROLLER_LEADERELECTION_RENEWDEADLINE: '20s' })).toThrow(/leaderElection\.renewDeadline/);
    expect(() => loadControllerConfig([], { CONTROLLER_WEBHOOK_TYPO: '1' })).toThrow(/webhook\.typo: unknown key/);
  });
});
