import { describe, expect, it } from '@jest/globals';
import { ERROR_CODES, errorBody, OciError, serializeError } from './errors.js';

describe('OCI errors', () => {
  it('carries the status of its code, overridable, and serializes to the spec body', () => {
    const e = new OciError('BLOB_UNKNOWN', undefined, { digest: 'sha256:x' });
    expect(e.status).toBe(404);
    expect(e.message).toBe('blob unknown to registry');
    expect(errorBody(e)).toEqual({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: { digest: 'sha256:x' } }] });
    const tooBig = new OciError('MANIFEST_INVALID', 'too big', undefined, { status: 413, headers: { 'X-A': '1' } });
    const s = serializeError(tooBig);
    expect(s.status).toBe(413);
    expect(s.headers).toEqual({ 'Content-Type': 'application/json; charset=utf-8', 'X-A': '1' });
    expect(JSON.parse(s.body)).toEqual({ errors: [{ code: 'MANIFEST_INVALID', message: 'too big' }] });
  });

  it('maps every spec code to its status', () => {
    const expected: Record<string, number> = {
      BLOB_UNKNOWN: 404, BLOB_UPLOAD_INVALID: 400, BLOB_UPLOAD_UNKNOWN: 404, DIGEST_INVALID: 400, MANIFEST_BLOB_UNKNOWN: 404,
      MANIFEST_INVALID: 400, MANIFEST_UNKNOWN: 404, NAME_INVALID: 400, NAME_UNKNOWN: 404, SIZE_INVALID: 400, UNAUTHORIZED: 401,
      DENIED: 403, UNSUPPORTED: 405, TOOMANYREQUESTS: 429, RANGE_INVALID: 416,
    };
    for (const [code, status] of Object.entries(expected)) expect(ERROR_CODES[code as keyof typeof ERROR_CODES].status).toBe(status);
  });
});
