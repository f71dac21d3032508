import { describe, expect, it } from '@jest/globals';
import { clientCredentials } from './oci-registries.js';

describe('clientCredentials', () => {
  it('maps pull-secret entries onto the OCI client: user/password first, then an identity token', () => {
    expect(clientCredentials({ username: 'u', password: 'p', identitytoken: 't' })).toEqual({ username: 'u', password: 'p' });
    expect(clientCredentials({ identitytoken: 't' })).toEqual({ identityToken: 't' });
    // A username alone cannot authenticate; a registry token is not supported by the client.
    expect(clientCredentials({ username: 'u' })).toBeUndefined();
    expect(clientCredentials({ registrytoken: 'r' })).toBeUndefined();
    expect(clientCredentials(undefined)).toBeUndefined();
  });
});
