// The proxy's Secret path, without an API server: a fake KubeApi lists one pull Secret and then
// watches until stopped. What the Secret's auths hold must reach the registry client as is.
import { describe, expect, it } from '@jest/globals';
import { createLogger } from '@kuik/observability';
import type { KubeApi, ListOf } from './api.js';
import { KubernetesPullSecrets } from './pull-secrets.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function fakeApi(secret: object): KubeApi {
  const api: Pick<KubeApi, 'get' | 'watch'> = {
    get: async <T>() => ({ metadata: { resourceVersion: '1' }, items: [secret] }) satisfies ListOf<object> as unknown as T,
    watch: (_path, _query, _onEvent, signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })),
  };
  return api as KubeApi;
}

describe('Kubernetes pull secrets', () => {
  it('pass a registry token through to the client, and never log it', async () => {
    const config = { auths: { 'https://reg.example': { registrytoken: 'bearer-me', auth: b64('u:p') }, 'ghcr.io': { username: 'u', password: 'p' } } };
    const secret = { metadata: { name: 'pull', namespace: 'kuik', resourceVersion: '1' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64(JSON.stringify(config)) } };
    const lines: string[] = [];
    const logger = createLogger({ component: 'test', level: 'debug', sink: (line) => lines.push(line) });
    const secrets = new KubernetesPullSecrets({ api: fakeApi(secret), repositories: false, fixed: { namespace: 'kuik', name: 'pull' }, logger }).start();
    try {
      await new Promise((resolve) => setImmediate(resolve));
      expect(secrets.hosts()).toEqual(['ghcr.io', 'reg.example']);
      expect(await secrets.resolve('reg.example')).toEqual({ registryToken: 'bearer-me' });
      expect(await secrets.resolve('ghcr.io')).toEqual({ username: 'u', password: 'p' });
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.join('\n')).not.toContain('bearer-me');
    } finally {
      secrets.close();
    }
  });
});
