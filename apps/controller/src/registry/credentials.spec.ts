import { describe, expect, it } from '@jest/globals';
import { authsFromSecret, credentialsFor, normalizeRegistryHost } from './credentials.js';
import { clientCredentials } from './oci-registries.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('pull secrets', () => {
  it('reads dockerconfigjson and dockercfg, folding Docker Hub aliases', () => {
    const json = authsFromSecret({
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': b64(JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: b64('u:p:w') }, 'ghcr.io': { username: 'a', password: 'b' } } })) },
    });
    expect(credentialsFor(json, 'docker.io')).toEqual({ username: 'u', password: 'p:w' });
    expect(credentialsFor(json, 'ghcr.io')).toEqual({ username: 'a', password: 'b' });
    expect(credentialsFor(json, 'quay.io')).toBeUndefined();
    const cfg = authsFromSecret({ type: 'kubernetes.io/dockercfg', data: { '.dockercfg': b64(JSON.stringify({ 'my.reg:5000': { identitytoken: 't' } })) } });
    expect(credentialsFor(cfg, 'my.reg:5000')).toEqual({ identitytoken: 't' });
    expect(authsFromSecret({ data: { '.dockerconfigjson': b64('not json') } })).toEqual({});
    expect(normalizeRegistryHost('https://registry-1.docker.io/v2/')).toBe('docker.io');
  });

  it('passes a registry token through to the OCI client, over the other credentials of the entry', () => {
    const auths = authsFromSecret({
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': b64(JSON.stringify({ auths: { 'https://reg.example': { registrytoken: 'bearer-me', auth: b64('u:p') }, 'ghcr.io': { registrytoken: 'gh' } } })) },
    });
    expect(credentialsFor(auths, 'reg.example')).toEqual({ username: 'u', password: 'p', registrytoken: 'bearer-me' });
    expect(clientCredentials(credentialsFor(auths, 'reg.example'))).toEqual({ registryToken: 'bearer-me' });
    expect(clientCredentials(credentialsFor(auths, 'ghcr.io'))).toEqual({ registryToken: 'gh' });
  });
});
