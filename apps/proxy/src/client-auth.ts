// Credentials the container runtime presents: a pod's own pull secret, which the controller copies
// into a Secret keyed for the proxy's host (kubelet sends it for images under
// "<proxy>/<origin>/"). Two cache areas keep private images private:
//
//   shared   "<origin>/<repository>"               filled anonymously or with the operator's
//                                                   credentials (Repository pull secrets, config.json,
//                                                   cloud identity): anyone on the node may read it,
//                                                   as the operator decided.
//   private  "kuik-private/<origin>/<repository>"  filled with a client's own credentials: read
//                                                   only by clients whose credentials the origin
//                                                   accepts for that repository.
//
// A request with credentials is served from the shared area when it can be; what the shared route
// cannot serve (the origin refuses it, hides it, or is down) is tried on the private route. There,
// before anything is read, the origin must have accepted the client's credentials for the
// repository (a HEAD of the requested object with them), within grantTtl; while the origin cannot
// be reached an acceptance up to staleGrantTtl old still counts, and without one the answer is
// UNAVAILABLE — never the cached bytes. A request without credentials that the origin refuses
// gets a 401 with a Basic challenge, so the runtime retries with the pod's credentials (as does
// one the origin cannot serve, being down, while the private area holds what it asks for).
//
// The shared area can never hold a private path: its first segment is a host (it has a "." or a
// ":", or is "localhost"), and "kuik-private" is neither.
import { createHash } from 'node:crypto';
import { isOciError, OciError, PRIVATE_CACHE_PREFIX, privateCacheRepository, type Digest } from '@kuik/oci';
import { clientErrorToOci } from '@kuik/oci/client';
import type { Target } from './routing.js';

export const CHALLENGE = 'Basic realm="kuik-proxy", charset="UTF-8"';

export interface ClientCredentials {
  username: string;
  password: string;
  /** Hex SHA-256 of the pair: names the client's origin connection and its grants, never logged with the secret. */
  key: string;
}

/**
 * The credentials of an `Authorization: Basic` header; undefined when there is none, when it is
 * not Basic, or when the user name is empty (containers/image sends "Basic Og==" when it has none).
 */
export function parseBasicAuth(header: string | undefined): ClientCredentials | undefined {
  if (!header) return undefined;
  const m = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  const key = createHash('sha256').update(username).update('\0').update(password).digest('hex');
  return { username, password, key };
}

/** The private route of a target, for these client credentials. */
export function privateTarget(target: Target, client: ClientCredentials): Target {
  const cacheRepository = privateCacheRepository(target.cacheRepository);
  if (!cacheRepository) {
    throw new OciError('NAME_INVALID', 'origin and repository together are too long to cache privately', { name: (PRIVATE_CACHE_PREFIX + target.cacheRepository).slice(0, 300) });
  }
  return { ...target, cacheRepository, client };
}

/** 401 with the proxy's Basic challenge, keeping what the origin said. */
export function challenge(err: OciError): OciError {
  return new OciError('UNAUTHORIZED', err.message, err.detail, { headers: { 'WWW-Authenticate': CHALLENGE }, cause: err });
}

export type Probe = { kind: 'manifest'; reference: string } | { kind: 'blob'; digest: Digest };

export interface GrantsOptions {
  ttlMs: number;
  staleMs: number;
  /** How long a refusal is remembered (the origin is not asked again meanwhile). */
  refusalMs?: number;
  /** Entries kept at most; the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

/** Which client credentials the origin accepted (or refused) for which repository, and when. */
export class Grants {
  private readonly granted = new Map<string, number>();
  private readonly refused = new Map<string, { until: number; err: OciError }>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly now: () => number;

  constructor(private readonly options: GrantsOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Resolves when the origin accepts the target's client credentials for its repository; throws
   * 401 UNAUTHORIZED (with the challenge) when it refuses them, UNAVAILABLE when it cannot be asked
   * and no acceptance recent enough is known. `ask` answers true when the object exists with them.
   */
  async check(target: Target, probe: Probe, ask: () => Promise<boolean>): Promise<'fresh' | 'checked' | 'stale'> {
    const client = target.client;
    if (!client) throw new Error('Grants.check needs a target with client credentials');
    const key = `${client.key} ${target.origin}/${target.repository}`;
    const now = this.now();
    const at = this.granted.get(key);
    if (at !== undefined && now - at < this.options.ttlMs) return 'fresh';
    const refusal = this.refused.get(key);
    if (refusal && now < refusal.until) throw refusal.err;
    let flight = this.inFlight.get(key);
    if (!flight) {
      flight = this.ask(key, target, probe, ask).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, flight);
    }
    try {
      await flight;
      return 'checked';
    } catch (err) {
      const last = this.granted.get(key);
      if (isOciError(err) && err.code === 'UNAVAILABLE' && last !== undefined && this.now() - last < this.options.staleMs) return 'stale';
      throw err;
    }
  }

  private async ask(key: string, target: Target, probe: Probe, ask: () => Promise<boolean>): Promise<void> {
    const what = probe.kind === 'manifest' ? `manifest ${probe.reference}` : `blob ${probe.digest}`;
    let found: boolean;
    try {
      found = await ask();
    } catch (err) {
      const mapped = clientErrorToOci(err, `origin registry ${target.origin}`);
      if (mapped.code === 'DENIED') return this.refuse(key, challenge(mapped));
      if (mapped.status >= 500) {
        throw new OciError('UNAVAILABLE', `cannot check the credentials presented for ${target.origin}/${target.repository} with the origin: ${mapped.message}`, { origin: target.origin }, { status: 503, cause: err });
      }
      return this.refuse(key, challenge(mapped));
    }
    if (!found) {
      // Says nothing of the credentials (another tag may exist): not remembered.
      const code = probe.kind === 'manifest' ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN';
      throw new OciError(code, `origin registry ${target.origin} has no ${what} in ${target.repository} for the credentials presented`, { origin: target.origin });
    }
    this.remember(this.granted, key, this.now());
    this.refused.delete(key);
  }

  private refuse(key: string, err: OciError): never {
    this.granted.delete(key);
    this.remember(this.refused, key, { until: this.now() + (this.options.refusalMs ?? 10_000), err });
    throw err;
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
    const max = this.options.maxEntries ?? 10_000;
    while (map.size > max) map.delete(map.keys().next().value!);
  }
}

/** Repositories the shared route recently could not serve to a client with credentials. */
export class PrivateRepositories {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly ttlMs = 600_000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  has(cacheRepository: string): boolean {
    const t = this.until.get(cacheRepository);
    if (t === undefined) return false;
    if (this.now() < t) return true;
    this.until.delete(cacheRepository);
    return false;
  }

  mark(cacheRepository: string): void {
    this.until.delete(cacheRepository);
    this.until.set(cacheRepository, this.now() + this.ttlMs);
    while (this.until.size > this.maxEntries) this.until.delete(this.until.keys().next().value!);
  }
}
