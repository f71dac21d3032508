// Bounded reading of response bodies: manifests, token responses and error bodies are read
// into memory, never more than a limit, checked against Content-Length before the first byte.
import { RegistryClientError, type RegistryErrorEntry } from './errors.js';
import { header, type HttpResponse } from './transport.js';

/** Error bodies beyond this are not worth reading. */
const ERROR_BODY_MAX = 64 << 10;

export async function readBounded(res: HttpResponse, maxBytes: number, host: string, what: string): Promise<Buffer> {
  const declared = header(res.headers, 'content-length');
  if (declared !== undefined && Number(declared) > maxBytes) {
    abandon(res.body);
    throw new RegistryClientError('size', `${what}: ${declared} bytes exceeds the ${maxBytes}-byte limit`, { host, status: res.status });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        abandon(res.body);
        throw new RegistryClientError('size', `${what}: body exceeds the ${maxBytes}-byte limit`, { host, status: res.status });
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof RegistryClientError) throw err;
    throw new RegistryClientError('network', `${what}: reading the body failed: ${(err as Error).message}`, { host, cause: err });
  }
  const body = Buffer.concat(chunks, total);
  if (declared !== undefined && Number(declared) !== total) {
    throw new RegistryClientError('size', `${what}: got ${total} bytes, Content-Length said ${declared}`, { host, status: res.status });
  }
  return body;
}

/** Reads a registry error body ({"errors":[…]}) if there is one; never throws. */
export async function readErrorEntries(res: HttpResponse): Promise<RegistryErrorEntry[]> {
  try {
    const text = (await readBounded(res, ERROR_BODY_MAX, '', 'error body')).toString('utf8');
    const doc = JSON.parse(text) as { errors?: unknown };
    if (!Array.isArray(doc.errors)) return [];
    return doc.errors
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string')
      .map((e) => ({ code: e['code'] as string, message: typeof e['message'] === 'string' ? e['message'] : undefined, detail: e['detail'] }));
  } catch {
    abandon(res.body);
    return [];
  }
}

/** Builds the error for an unexpected status, with the registry's error entries. */
export async function unexpectedStatus(res: HttpResponse, host: string, what: string): Promise<RegistryClientError> {
  const errors = res.status === 304 || res.body.readableEnded ? [] : await readErrorEntries(res);
  const first = errors[0];
  const reason = first ? `${first.code}${first.message ? ` (${first.message})` : ''}` : `HTTP ${res.status}`;
  const kind = res.status === 401 || res.status === 403 ? 'auth' : 'http';
  return new RegistryClientError(kind, `${what}: ${reason}`, { host, status: res.status, errors });
}

/**
 * Stops reading a body for good (its connection is closed). undici reports a body destroyed
 * before its end as an 'error' event; nobody is listening any more, so it is swallowed.
 */
export function abandon(body: { on(event: 'error', fn: () => void): unknown; destroy(): unknown }): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** Discards a body we do not need, so its connection returns to the pool. */
export function discard(res: HttpResponse): void {
  res.body.dump().catch(() => undefined);
}
