import { describe, expect, it } from '@jest/globals';
import { clientCredentials } from './oci-registries.js';

describe('clientCredentials', () => {
  it('maps pull-secret entries onto the OCI client in Docker order: registry token, identity token, user/password', () => {
    expect(clientCredentials({ registrytoken: 'r' })).toEqual({ registryToken: 'r' });
    expect(clientCredentials({ username: 'u', password: 'p', identitytoken: 't', registrytoken: 'r' })).toEqual({ registryToken: 'r' });
    // `docker login` with an identity token keeps the username, with an empty password.
    expect(clientCredentials({ username: 'u', password: '', identitytoken: 't' })).toEqual({ identityToken: 't' });
    expect(clientCredentials({ identitytoken: 't' })).toEqual({ identityToken: 't' });
    expect(clientCredentials({ username: 'u', password: 'p' })).toEqual({ username: 'u', password: 'p' });
    // A username alone cannot authenticate.
    expect(clientCredentials({ username: 'u' })).toBeUndefined();
    expect(clientCredentials(undefined)).toBeUndefined();
  });
});
