// Credentials for Google Artifact Registry and Container Registry from the workload's own Google
// identity, with no pull secret: GKE Workload Identity (the metadata server answers for the pod's
// Kubernetes service account), a node's service account, or GOOGLE_APPLICATION_CREDENTIALS —
// Application Default Credentials, through google-auth-library. Both registries accept Basic auth
// with the user "oauth2accesstoken" and an access token as the password. Off by default: clusters
// outside Google Cloud pull public gcr.io and pkg.dev images anonymously, and must not start
// asking a metadata server that is not there. The library is loaded on the first matching host.
import type * as GoogleAuthLibrary from 'google-auth-library';
import { CloudTokenCredentials, raceAbort, type CloudToken, type CloudTokenOptions } from './cloud-token.js';
import { canonicalRegistryHost } from './hosts.js';

/** gcr.io and its regional hosts (eu.gcr.io, …), and Artifact Registry's <location>-docker.pkg.dev. */
const GOOGLE_HOST = /^(?:(?:[a-z0-9-]+\.)?gcr\.io|[a-z0-9-]+-docker\.pkg\.dev)$/;

export function isGoogleRegistryHost(host: string): boolean {
  return GOOGLE_HOST.test(host.toLowerCase());
}

/** Gets an access token (Application Default Credentials by default; tests may swap it). */
export type GoogleTokenSource = (signal: AbortSignal) => Promise<CloudToken>;

export interface GoogleCredentialsOptions extends CloudTokenOptions {
  /** Default off (see above). */
  enabled?: boolean;
  /** More hosts that are Artifact Registry under another name (a DNS alias). */
  registries?: readonly string[];
  tokenSource?: GoogleTokenSource;
}

export const GOOGLE_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

export class GoogleCredentials extends CloudTokenCredentials {
  private readonly extra: Set<string>;
  private readonly source: GoogleTokenSource;

  constructor(private readonly options: GoogleCredentialsOptions = {}) {
    // Google's tokens last an hour; google-auth-library itself refreshes 5 minutes before the end.
    super({ renewBeforeMs: 5 * 60_000, ...options });
    this.source = options.tokenSource ?? adcTokenSource();
    this.extra = new Set((options.registries ?? []).map(canonicalRegistryHost));
  }

  protected tokenKey(host: string): string | undefined {
    if (!this.options.enabled) return undefined;
    const h = canonicalRegistryHost(host);
    return this.extra.has(h) || isGoogleRegistryHost(h) ? 'adc' : undefined;
  }

  protected fetchToken(_key: string, signal: AbortSignal): Promise<CloudToken> {
    return this.source(signal);
  }

  protected failureMessage(host: string, _key: string, why: string): string {
    return (
      `Google credentials for ${host}: no access token from Application Default Credentials: ${why}. ` +
      'The workload needs a Google identity (GKE Workload Identity, or GOOGLE_APPLICATION_CREDENTIALS) allowed to read the repository (roles/artifactregistry.reader)'
    );
  }
}

function adcTokenSource(): GoogleTokenSource {
  let lib: Promise<typeof GoogleAuthLibrary> | undefined;
  let auth: GoogleAuthLibrary.GoogleAuth | undefined;
  return async (signal) => {
    const { GoogleAuth } = await (lib ??= import('google-auth-library'));
    // A token needs no project; naming one spares the library its project discovery, which runs
    // the gcloud CLI and asks the metadata server (0.8 s at the first pull here).
    auth ??= new GoogleAuth({ scopes: [GOOGLE_SCOPE], projectId: 'kuik-registry-pull' });
    const client = await raceAbort(auth.getClient(), signal);
    const { token } = await raceAbort(client.getAccessToken(), signal);
    if (!token) throw new Error('the identity gave no access token');
    const expiry = (client.credentials as { expiry_date?: number | null } | undefined)?.expiry_date;
    return { username: 'oauth2accesstoken', password: token, expiresAt: typeof expiry === 'number' ? expiry : Date.now() + 45 * 60_000 };
  };
}
