// Where registry credentials come from. The client asks a resolver per registry host (as written
// in image references, Docker Hub folded to "docker.io") and gets a username/password pair, an
// identity token (an OAuth2 refresh token, as `docker login` stores for some registries), or a
// registry token (Docker's RegistryToken: a bearer token sent to the registry as is).
import { canonicalRegistryHost } from './hosts.js';

export type Credentials = { username: string; password: string } | { identityToken: string } | { registryToken: string };

export interface CredentialsResolver {
  /** Credentials for the host, or undefined to go anonymous. */
  resolve(host: string, signal?: AbortSignal): Promise<Credentials | undefined>;
}

export function isIdentityToken(c: Credentials): c is { identityToken: string } {
  return 'identityToken' in c;
}

export function isRegistryToken(c: Credentials): c is { registryToken: string } {
  return 'registryToken' in c;
}

export function isUsernamePassword(c: Credentials): c is { username: string; password: string } {
  return 'username' in c;
}

/** A fixed map of host → credentials (tests, the controller's per-Repository secrets). */
export class StaticCredentials implements CredentialsResolver {
  private readonly byHost = new Map<string, Credentials>();

  constructor(entries: Record<string, Credentials> = {}) {
    for (const [host, c] of Object.entries(entries)) this.byHost.set(canonicalRegistryHost(host), c);
  }

  async resolve(host: string): Promise<Credentials | undefined> {
    return this.byHost.get(canonicalRegistryHost(host));
  }
}

/** Asks each resolver in turn; the first that knows the host wins. */
export class ChainedCredentials implements CredentialsResolver {
  constructor(private readonly resolvers: readonly CredentialsResolver[]) {}

  async resolve(host: string, signal?: AbortSignal): Promise<Credentials | undefined> {
    for (const r of this.resolvers) {
      const c = await r.resolve(host, signal);
      if (c) return c;
    }
    return undefined;
  }
}

export const anonymous: CredentialsResolver = { resolve: async () => undefined };
