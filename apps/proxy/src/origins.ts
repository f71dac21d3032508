// One registry client per origin host, created on first use (nothing is contacted or read at
// start-up), each with its own connection pool, TLS settings and token cache; and one per origin
// host and client credentials for the private route (client-auth.ts), so tokens obtained with a
// client's credentials serve that client only.
import { RegistryClient, StaticCredentials, type CredentialsResolver, type Timeouts } from '@kuik/oci/client';
import type { Target } from './routing.js';

export interface OriginsOptions {
  insecureRegistries: readonly string[];
  ca: readonly string[];
  credentials: CredentialsResolver;
  timeouts: Timeouts;
  manifestMaxBytes: number;
  userAgent: string;
}

/** Origins kept at once; the least recently used one is closed beyond this. */
const MAX_ORIGINS = 256;

export class Origins {
  private readonly clients = new Map<string, RegistryClient>();

  constructor(private readonly options: OriginsOptions) {}

  /** The client for a target's origin: with the target's client credentials when it has some. */
  for(target: Target): RegistryClient {
    const c = target.client;
    if (!c) return this.get(target.origin);
    return this.get(target.origin, `${target.origin} ${c.key}`, new StaticCredentials({ [target.origin]: { username: c.username, password: c.password } }));
  }

  get(host: string, key = host, credentials: CredentialsResolver = this.options.credentials): RegistryClient {
    let client = this.clients.get(key);
    if (client) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.clients.delete(key);
      this.clients.set(key, client);
      return client;
    }
    client = new RegistryClient({
      host,
      insecure: this.options.insecureRegistries.includes(host),
      ca: this.options.ca,
      credentials,
      timeouts: this.options.timeouts,
      manifestMaxBytes: this.options.manifestMaxBytes,
      userAgent: this.options.userAgent,
    });
    this.clients.set(key, client);
    if (this.clients.size > MAX_ORIGINS) {
      const [oldest, c] = this.clients.entries().next().value!;
      this.clients.delete(oldest);
      void c.close().catch(() => undefined);
    }
    return client;
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close().catch(() => undefined)));
    this.clients.clear();
  }
}
