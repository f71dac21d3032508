// Response helpers shared by the handlers: OCI error bodies through the one serializer of
// @kuik/oci, the API version header, and the per-request state the access log and metrics read.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isOciError, OciError, serializeError } from '@kuik/oci';
import { clientErrorToOci, isRegistryClientError } from '@kuik/oci/client';

export const API_VERSION_HEADERS = { 'Docker-Distribution-API-Version': 'registry/2.0' };

export interface RequestState {
  /** Origin host the request was for ("" when none, e.g. /v2/). */
  origin: string;
  /** Served from the kuik registry. */
  cacheHit: boolean;
  /** Served on the private route, with the client's own credentials (client-auth.ts). */
  private?: boolean;
  /** OCI error code answered, for the access log. */
  error?: string;
}

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  state: RequestState;
}

export function sendError(res: ServerResponse, req: IncomingMessage, err: OciError): void {
  const s = serializeError(err);
  res.writeHead(s.status, { ...API_VERSION_HEADERS, ...s.headers, 'Content-Length': String(Buffer.byteLength(s.body)) });
  res.end(req.method === 'HEAD' ? undefined : s.body);
}

/**
 * The error to answer when the origin failed, naming the origin and, when the cache was not
 * just a miss, the cache registry's failure too.
 */
export function originFailure(origin: string, originErr: unknown, cacheErr: unknown): OciError {
  if (isOciError(originErr)) return originErr;
  const mapped = clientErrorToOci(originErr, `origin registry ${origin}`);
  if (cacheErr === undefined) return mapped;
  const cacheReason = cacheErr instanceof Error ? cacheErr.message : String(cacheErr);
  // Both sides failed: say so, whatever the origin's answer was.
  if (mapped.code === 'UNAVAILABLE' || isRegistryClientError(originErr, 'network') || isRegistryClientError(originErr, 'timeout')) {
    return new OciError('UNAVAILABLE', `${mapped.message}; cache registry: ${cacheReason}`, { origin, cache: cacheReason }, { status: 502 });
  }
  return mapped;
}
