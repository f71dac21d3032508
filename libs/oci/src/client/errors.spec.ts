import { describe, expect, it } from '@jest/globals';
import { classifyError, clientErrorToOci, RegistryClientError } from './errors.js';

describe('client errors', () => {
  it('maps upstream answers onto the OCI error a proxy should give', () => {
    const unknown = new RegistryClientError('http', 'x', { host: 'h', status: 404, errors: [{ code: 'MANIFEST_UNKNOWN' }] });
    expect(unknown.notFound).toBe(true);
    expect(clientErrorToOci(unknown, 'origin')).toMatchObject({ code: 'MANIFEST_UNKNOWN', status: 404 });
    expect(clientErrorToOci(new RegistryClientError('auth', 'x', { host: 'h', status: 401 }), 'origin')).toMatchObject({ code: 'DENIED', status: 403 });
    expect(clientErrorToOci(new RegistryClientError('http', 'x', { host: 'h', status: 429 }), 'origin')).toMatchObject({ code: 'TOOMANYREQUESTS' });
    expect(clientErrorToOci(new RegistryClientError('http', 'x', { host: 'h', status: 503 }), 'origin')).toMatchObject({ code: 'UNAVAILABLE', status: 502 });
    expect(clientErrorToOci(new RegistryClientError('network', 'refused', { host: 'h' }), 'origin h')).toMatchObject({ code: 'UNAVAILABLE', message: 'origin h: refused' });
  });
  it('classifies low-level failures', () => {
    expect(classifyError(Object.assign(new Error('t'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 'h', 'GET').kind).toBe('timeout');
    expect(classifyError(Object.assign(new Error('r'), { code: 'ECONNREFUSED' }), 'h', 'GET')).toMatchObject({ kind: 'network', message: 'GET: ECONNREFUSED r' });
    const ac = new AbortController();
    ac.abort();
    expect(classifyError(new Error('x'), 'h', 'GET', ac.signal).kind).toBe('aborted');
  });
});
