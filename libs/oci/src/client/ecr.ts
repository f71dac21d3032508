// Credentials for Amazon ECR from the workload's own AWS identity, with no pull secret: IRSA
// (a projected web identity token), EKS Pod Identity, environment keys, or the node's instance
// profile — the AWS SDK's default provider chain, as for the registry's S3 storage. ECR accepts
// Basic auth with the user "AWS" and a password from GetAuthorizationToken, valid 12 hours; one
// token per region is kept and renewed ahead of its expiry (cloud-token.ts). The SDK is loaded on
// the first ECR host only, so nothing changes for anyone else.
import type * as EcrSdk from '@aws-sdk/client-ecr';
import { canonicalRegistryHost } from './hosts.js';
import { CloudTokenCredentials, type CloudToken, type CloudTokenOptions } from './cloud-token.js';

/** <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn], and the dual-stack <account>.dkr-ecr.<region>.on.aws. */
const ECR_HOST = /^(\d{12})\.dkr(?:\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?|-ecr\.([a-z0-9-]+)\.on\.aws)$/;

/** The region of an ECR registry host, or undefined when the host is not one. */
export function ecrRegion(host: string): string | undefined {
  const m = ECR_HOST.exec(host.toLowerCase());
  return m ? (m[2] ?? m[3]) : undefined;
}

/** Asks ECR for a token in a region (the SDK by default; tests may swap it). */
export type EcrTokenSource = (region: string, signal: AbortSignal) => Promise<CloudToken>;

export interface EcrCredentialsOptions extends CloudTokenOptions {
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
  tokenSource?: EcrTokenSource;
}

/** One token per region (ECR's tokens are valid for any registry the identity may read). */
export class EcrCredentials extends CloudTokenCredentials {
  private readonly extra: Map<string, string>;
  private readonly source: EcrTokenSource;

  constructor(private readonly options: EcrCredentialsOptions = {}) {
    super(options);
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

  protected tokenKey(host: string): string | undefined {
    return this.regionOf(host);
  }

  protected fetchToken(region: string, signal: AbortSignal): Promise<CloudToken> {
    return this.source(region, signal);
  }

  protected failureMessage(host: string, region: string, why: string): string {
    return (
      `ECR credentials for ${host} (region ${region}): GetAuthorizationToken failed: ${why}. ` +
      'The workload needs an AWS identity (IRSA, EKS Pod Identity, instance profile or AWS_* variables) allowed ecr:GetAuthorizationToken'
    );
  }
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
