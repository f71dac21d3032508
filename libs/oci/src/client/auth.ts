// Registry authentication, as Docker and containerd do it: go anonymous first; on 401 read the
// challenge. `Bearer realm,service,scope` → fetch a token from the realm (GET with Basic
// credentials when there are some; OAuth2 refresh-token POST for identity tokens), cache it per
// scope set until `expires_in` runs out, and retry. `Basic` → send the credentials on every
// request from then on. The learned challenge is kept, so later requests for other scopes
// fetch their token up front instead of paying a 401 round trip each. A registry token (Docker's
// RegistryToken) skips all of that: it is the bearer token, sent from the first request on,
// and a 401 to it is final (there is nothing to exchange or renew).
import { parseWwwAuthenticate } from './challenge.js';
import { isIdentityToken, isRegistryToken, isUsernamePassword, type Credentials, type CredentialsResolver } from './credentials.js';
import { readBounded, readErrorEntries, unexpectedStatus } from './body.js';
import { RegistryClientError } from './errors.js';
import type { HttpResponse, Transport } from './transport.js';

/** Docker's default when a token response has no expires_in. */
const DEFAULT_TOKEN_LIFETIME_S = 60;
const TOKEN_RESPONSE_MAX = 1 << 20;
const MAX_CACHED_TOKENS = 1000;

type LearnedScheme = { kind: 'bearer'; realm: URL; service?: string } | { kind: 'basic' };

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface Authorization {
  /** The Authorization header value. */
  header: string;
  /** It carries a configured registry token, so a 401 cannot be cured by retrying. */
  registryToken: boolean;
}

export interface AuthenticatorOptions {
  /** Registry host as in references; credentials are looked up under it. */
  host: string;
  credentials: CredentialsResolver;
  transport: Transport;
  userAgent: string;
  clientId?: string;
  now?: () => number;
}

export class Authenticator {
  private scheme?: LearnedScheme;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly now: () => number;

  constructor(private readonly options: AuthenticatorOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The Authorization for a request needing these scopes; undefined while anonymous. */
  async authorization(scopes: readonly string[], signal?: AbortSignal): Promise<Authorization | undefined> {
    // Resolved per request, as the Basic scheme always did, so a changed Secret applies at once.
    const creds = await this.credentials(signal);
    if (creds && isRegistryToken(creds)) return { header: `Bearer ${creds.registryToken}`, registryToken: true };
    const scheme = this.scheme;
    if (!scheme) return undefined;
    if (scheme.kind === 'basic') return creds && isUsernamePassword(creds) ? { header: basicHeader(creds), registryToken: false } : undefined;
    return { header: `Bearer ${await this.token(scheme, scopes, signal)}`, registryToken: false };
  }

  /**
   * Learns from a 401 response. Returns true when retrying with fresh authorization can
   * succeed; false when there is nothing new to try (no usable challenge, no credentials).
   */
  async onUnauthorized(res: HttpResponse, scopes: readonly string[], signal?: AbortSignal): Promise<boolean> {
    const challenges = parseWwwAuthenticate(res.headers['www-authenticate']);
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params['realm']);
    if (bearer) {
      let realm: URL;
      try {
        realm = new URL(bearer.params['realm']!);
      } catch {
        throw new RegistryClientError('auth', `invalid token realm ${JSON.stringify(bearer.params['realm'])}`, { host: this.options.host });
      }
      if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
        throw new RegistryClientError('auth', `token realm must be http(s): ${realm.href}`, { host: this.options.host });
      }
      this.scheme = { kind: 'bearer', realm, service: bearer.params['service'] };
      // The token we sent (if any) was refused: forget it, and ask for what the registry named too.
      const wanted = mergeScopes(scopes, bearer.params['scope']?.split(' ') ?? []);
      this.tokens.delete(this.key(this.scheme, scopes));
      this.tokens.delete(this.key(this.scheme, wanted));
      await this.token(this.scheme, wanted, signal, scopes);
      return true;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      const had = this.scheme?.kind === 'basic';
      this.scheme = { kind: 'basic' };
      const creds = await this.credentials(signal);
      // Credentials already sent and refused: retrying cannot help.
      return !had && creds !== undefined && isUsernamePassword(creds);
    }
    return false;
  }

  /**
   * The resolver's credentials for our host. A resolver that fails (a config.json that does not
   * parse, a cloud identity refused) fails the request as an authentication error naming why,
   * which callers report as DENIED, as when the registry refuses credentials.
   */
  private async credentials(signal?: AbortSignal): Promise<Credentials | undefined> {
    try {
      return await this.options.credentials.resolve(this.options.host, signal);
    } catch (err) {
      if (signal?.aborted || err instanceof RegistryClientError) throw err;
      throw new RegistryClientError('auth', err instanceof Error ? err.message : String(err), { host: this.options.host, cause: err });
    }
  }

  private key(scheme: { realm: URL; service?: string }, scopes: readonly string[]): string {
    return `${scheme.realm.href}|${scheme.service ?? ''}|${[...scopes].sort().join(' ')}`;
  }

  private async token(
    scheme: { realm: URL; service?: string },
    scopes: readonly string[],
    signal?: AbortSignal,
    alsoCacheAs?: readonly string[],
  ): Promise<string> {
    const key = this.key(scheme, scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.token;
    // One fetch per scope set, however many requests wait for it.
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.fetchToken(scheme, scopes, signal).then(
        (t) => {
          this.inflight.delete(key);
          this.remember(key, t);
          if (alsoCacheAs) this.remember(this.key(scheme, alsoCacheAs), t);
          return t.token;
        },
        (err: unknown) => {
          this.inflight.delete(key);
          throw err;
        },
      );
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private remember(key: string, t: CachedToken): void {
    if (this.tokens.size >= MAX_CACHED_TOKENS) {
      const now = this.now();
      for (const [k, v] of this.tokens) if (v.expiresAt <= now) this.tokens.delete(k);
      if (this.tokens.size >= MAX_CACHED_TOKENS) this.tokens.delete(this.tokens.keys().next().value!);
    }
    this.tokens.set(key, t);
  }

  private async fetchToken(scheme: { realm: URL; service?: string }, scopes: readonly string[], signal?: AbortSignal): Promise<CachedToken> {
    const host = this.options.host;
    const creds = await this.credentials(signal);
    const url = new URL(scheme.realm);
    const headers: Record<string, string> = { 'User-Agent': this.options.userAgent, Accept: 'application/json' };
    let res: HttpResponse;
    if (creds && isIdentityToken(creds)) {
      // OAuth2 refresh-token grant, as Docker does with an identity token.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: this.options.clientId ?? 'kuik' });
      if (scheme.service) form.set('service', scheme.service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      res = await this.options.transport.request({ method: 'POST', url, headers, body: form.toString(), signal });
    } else {
      if (scheme.service) url.searchParams.set('service', scheme.service);
      for (const s of scopes) url.searchParams.append('scope', s);
      // A registry token (only seen here if it replaced other credentials mid-request) is never
      // sent to a token service: that exchange is anonymous.
      if (creds && isUsernamePassword(creds)) {
        url.searchParams.set('account', creds.username);
        headers['Authorization'] = basicHeader(creds);
      }
      res = await this.options.transport.request({ method: 'GET', url, headers, signal });
    }
    if (res.status !== 200) {
      const err = await unexpectedStatus(res, host, `token request to ${url.origin}${url.pathname}`);
      throw new RegistryClientError('auth', err.message, { host, status: res.status, errors: err.errors });
    }
    const body = await readBounded(res, TOKEN_RESPONSE_MAX, host, 'token response');
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc;
    } catch {
      throw new RegistryClientError('auth', 'token response is not JSON', { host });
    }
    const token = typeof doc.token === 'string' && doc.token ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
    if (!token) throw new RegistryClientError('auth', 'token response has no token', { host });
    const lifetimeS = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    // Renew a little early, so a token never expires between our check and the registry's.
    const margin = Math.min(30, lifetimeS * 0.1);
    return { token, expiresAt: this.now() + (lifetimeS - margin) * 1000 };
  }
}

/**
 * The error for a 401 to a request that carried a registry token. It names the host and says a
 * registry token was refused, never the token, and keeps the registry's own error entries.
 */
export async function registryTokenRefused(res: HttpResponse, host: string, what: string): Promise<RegistryClientError> {
  const errors = await readErrorEntries(res);
  const first = errors[0];
  const said = first ? `; the registry said ${first.code}${first.message ? ` (${first.message})` : ''}` : '';
  return new RegistryClientError('auth', `${what}: UNAUTHORIZED: ${host} refused the registry token configured for it (sent as is, never exchanged or renewed)${said}`, {
    host,
    status: res.status,
    errors,
  });
}

export function basicHeader(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

function mergeScopes(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b].filter(Boolean))];
}

export function repositoryScope(repository: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${repository}:${actions}`;
}

