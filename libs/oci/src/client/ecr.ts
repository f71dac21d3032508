// Credentials for Amazon ECR from the workload's own AWS identity, with no pull secret: IRSA
// (a projected web identity token), EKS Pod Identity, environment keys, or the node's instance
// profile — the AWS SDK's default provider chain, as for the registry's S3 storage. ECR accepts
// Basic auth with the user "AWS" and a password from GetAuthorizationToken, valid 12 hours; one
// token per region is kept and renewed ahead of its expiry, by one call however many pulls need
// it. The SDK is loaded on the first ECR host only, so nothing changes for anyone else.
import type * as EcrSdk from '@aws-sdk/client-ecr';
import { canonicalRegistryHost } from './hosts.js';
import type { Credentials, CredentialsResolver } from './credentials.js';

/** <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn], and the dual-stack <account>.dkr-ecr.<region>.on.aws. */
const ECR_HOST = /^(\d{12})\.dkr(?:\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?|-ecr\.([a-z0-9-]+)\.on\.aws)$/;

/** The region of an ECR registry host, or undefined when the host is not one. */
export function ecrRegion(host: string): string | undefined {
  const m = ECR_HOST.exec(host.toLowerCase());
  return m ? (m[2] ?? m[3]) : undefined;
}

export interface EcrToken {
  username: string;
  password: string;
  /** When ECR says the token stops working (ms since the epoch). */
  expiresAt: number;
}

/** Asks ECR for a token in a region (the SDK by default; tests may swap it). */
export type EcrTokenSource = (region: string, signal: AbortSignal) => Promise<EcrToken>;

export interface EcrCredentialsOptions {
  /** Off: ECR hosts go anonymous (or to the other resolvers). Default on. */
  enabled?: boolean;
  /**
   * Further hosts that are ECR registries under another name (a DNS alias, a pull-through
   * endpoint), all in `region`.
   */
  registries?: readonly string[];
  /** Region of `registries` (ECR hosts carry their own). */
  region?: string;
  /** The ECR API endpoint, when not AWS's public one (a VPC endpoint, a test server). */
  endpoint?: string;
  /** The token is renewed this long before it expires. Default 30 minutes. */
  renewBeforeMs?: number;
  /** After a failure, the same error is given for this long before ECR is asked again. Default 15 s. */
  failureBackoffMs?: number;
  /** How long one GetAuthorizationToken may take. Default 20 s. */
  timeoutMs?: number;
  tokenSource?: EcrTokenSource;
  now?: () => number;
}

interface RegionState {
  token?: EcrToken;
  renewing?: Promise<EcrToken>;
  failure?: { error: Error; until: number };
}

export class EcrCredentials implements CredentialsResolver {
  private readonly regions = new Map<string, RegionState>();
  private readonly extra: Map<string, string>;
  private readonly now: () => number;
  private readonly source: EcrTokenSource;

  constructor(private readonly options: EcrCredentialsOptions = {}) {
    this.now = options.now ?? Date.now;
    this.source = options.tokenSource ?? sdkTokenSource(options.endpoint);
    const extra = options.registries ?? [];
    if (extra.length > 0 && !options.region) throw new Error('ECR credentials: registries need a region');
    this.extra = new Map(extra.map((h) => [canonicalRegistryHost(h), options.region!]));
  }

  /** The region whose token serves this host, if it is an ECR registry. */
  regionOf(host: string): string | undefined {
    if (this.options.enabled === false) return undefined;
    const h = canonicalRegistryHost(host);
    return this.extra.get(h) ?? ecrRegion(h);
  }

  async resolve(host: string, signal?: AbortSignal): Promise<Credentials | undefined> {
    const region = this.regionOf(host);
    if (!region) return undefined;
    const token = await this.token(region, host, signal);
    return { username: token.username, password: token.password };
  }

  private async token(region: string, host: string, signal?: AbortSignal): Promise<EcrToken> {
    let state = this.regions.get(region);
    if (!state) this.regions.set(region, (state = {}));
    const now = this.now();
    const renewBefore = this.options.renewBeforeMs ?? 30 * 60_000;
    if (state.token && state.token.expiresAt - renewBefore > now) return state.token;
    // Still valid but due for renewal: renew in the background, answer with what we have.
    const usable = state.token && state.token.expiresAt > now + 60_000 ? state.token : undefined;
    if (state.failure && state.failure.until > now) {
      if (usable) return usable;
      throw state.failure.error;
    }
    state.renewing ??= this.fetch(region, host, state);
    if (usable) {
      state.renewing.catch(() => undefined);
      return usable;
    }
    return signal ? raceAbort(state.renewing, signal) : state.renewing;
  }

  private async fetch(region: string, host: string, state: RegionState): Promise<EcrToken> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 20_000);
    try {
      const token = await this.source(region, timeout);
      state.token = token;
      state.failure = undefined;
      return token;
    } catch (err) {
      const e = err as { name?: string; message?: string };
      const why = timeout.aborted ? `no answer within ${this.options.timeoutMs ?? 20_000} ms` : `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message ?? String(err)}`;
      const error = new Error(
        `ECR credentials for ${host} (region ${region}): GetAuthorizationToken failed: ${why}. ` +
          'The workload needs an AWS identity (IRSA, EKS Pod Identity, instance profile or AWS_* variables) allowed ecr:GetAuthorizationToken',
        { cause: err },
      );
      state.failure = { error, until: this.now() + (this.options.failureBackoffMs ?? 15_000) };
      throw error;
    } finally {
      state.renewing = undefined;
    }
  }
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

/** GetAuthorizationToken through @aws-sdk/client-ecr, one client per region, loaded on first use. */
function sdkTokenSource(endpoint: string | undefined): EcrTokenSource {
  type Sdk = typeof EcrSdk;
  let sdk: Promise<Sdk> | undefined;
  const clients = new Map<string, InstanceType<Sdk['ECRClient']>>();
  return async (region, signal) => {
    const { ECRClient, GetAuthorizationTokenCommand } = await (sdk ??= import('@aws-sdk/client-ecr'));
    let client = clients.get(region);
    if (!client) clients.set(region, (client = new ECRClient({ region, maxAttempts: 3, ...(endpoint ? { endpoint } : {}) })));
    const out = await client.send(new GetAuthorizationTokenCommand({}), { abortSignal: signal });
    const data = out.authorizationData?.[0];
    if (!data?.authorizationToken) throw new Error('the answer holds no authorization token');
    const decoded = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new Error('the authorization token is not base64 of "user:password"');
    const expiresAt = data.expiresAt instanceof Date ? data.expiresAt.getTime() : Date.now() + 12 * 3600_000;
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), expiresAt };
  };
}
