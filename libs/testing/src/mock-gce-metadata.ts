// A stand-in for Google Cloud's metadata server on loopback: what google-auth-library asks on GKE
// (is the server there, then the service account's access token), so that Application Default
// Credentials can be exercised for real with GCE_METADATA_HOST pointing here. The metadata server
// cannot run outside Google Cloud. Requests without the Metadata-Flavor header are refused, as
// the real server does.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { withEnv } from './env.js';
import { closeServer, listenOnLoopback } from './loopback.js';

export class MockGceMetadata {
  /** Paths asked, in order (query strings dropped). */
  readonly requests: string[] = [];
  /** Token requests answered. */
  tokens = 0;
  /** When set, token requests get this HTTP status (e.g. 404: no service account). */
  refuseTokens?: number;
  private server?: Server;

  constructor(private readonly accessToken: (n: number) => string = (n) => `ya29.kuik-test-token-${n}`) {}

  /** host:port, for GCE_METADATA_HOST. */
  get host(): string {
    const a = this.server?.address() as AddressInfo | null;
    if (!a) throw new Error('mock metadata server not started');
    return `127.0.0.1:${a.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      this.requests.push(path);
      const send = (status: number, body: string, type = 'application/json') => {
        res.writeHead(status, { 'Content-Type': type, 'Metadata-Flavor': 'Google' });
        res.end(body);
      };
      if (req.headers['metadata-flavor'] !== 'Google') return send(403, 'Missing Metadata-Flavor header', 'text/plain');
      if (path === '/computeMetadata/v1/instance' || path === '/computeMetadata/v1/instance/') return send(200, 'attributes/\nid\nservice-accounts/\n', 'text/plain');
      if (path === '/computeMetadata/v1/project/project-id') return send(200, 'kuik-test-project', 'text/plain');
      if (path === '/computeMetadata/v1/instance/service-accounts/default/token') {
        if (this.refuseTokens) return send(this.refuseTokens, 'no service account for this workload', 'text/plain');
        this.tokens++;
        return send(200, JSON.stringify({ access_token: this.accessToken(this.tokens), expires_in: 3599, token_type: 'Bearer' }));
      }
      if (path === '/computeMetadata/v1/instance/service-accounts/default/email') return send(200, 'kuik@kuik-test-project.iam.gserviceaccount.com', 'text/plain');
      send(404, 'not mocked', 'text/plain');
    });
    await listenOnLoopback(this.server);
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }
}

/**
 * Points google-auth-library's Application Default Credentials at `metadataHost` for this
 * process and nothing else: no key file, no gcloud configuration, no real metadata server.
 * Returns a function that restores the environment.
 */
export function useGceMetadata(metadataHost: string): () => void {
  return withEnv(['GCE_METADATA_IP', 'GOOGLE_APPLICATION_CREDENTIALS', 'GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT'], {
    GCE_METADATA_HOST: metadataHost,
    CLOUDSDK_CONFIG: '/nonexistent/kuik-test/gcloud',
    METADATA_SERVER_DETECTION: 'ping-only',
  });
}
