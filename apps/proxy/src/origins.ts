// One registry client per origin host, created on first use (nothing is contacted or read at
// start-up), each with its own connection pool, TLS settings and token cache.
import { RegistryClient, type CredentialsResolver, type Timeouts } from '@kuik/oci/client';

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

  get(host: string): RegistryClient {
    let client = this.clients.get(host);
    if (client) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.clients.delete(host);
      this.clients.set(host, client);
      return client;
    }
    client = new RegistryClient({
      host,
      insecure: this.options.insecureRegistries.includes(host),
      ca: this.options.ca,
      credentials: this.options.credentials,
      timeouts: this.options.timeouts,
      manifestMaxBytes: this.options.manifestMaxBytes,
      userAgent: this.options.userAgent,
    });
    this.clients.set(host, client);
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
