// A stand-in for the Amazon ECR API on loopback: the one call kuik makes, GetAuthorizationToken
// (AWS JSON 1.1 protocol), so that the real AWS SDK can be pointed at it with an endpoint and
// explicit credentials. ECR itself cannot run here; everything else in such a test is real. It
// records what each call was signed with (access key, region, service from the SigV4 scope), and
// can be told to refuse.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { withEnv } from './env.js';
import { closeServer, listenOnLoopback } from './loopback.js';

export interface MockEcrCall {
  accessKeyId: string;
  region: string;
  service: string;
  target: string;
}

export interface MockEcrOptions {
  /** The user and password the tokens carry ("AWS" and a fresh password per call by default). */
  username?: string;
  password?: (call: number) => string;
  /** Token lifetime. Default 12 hours, as ECR's. */
  validForMs?: number;
}

export class MockEcr {
  readonly calls: MockEcrCall[] = [];
  /** When set, calls are refused with this AWS error (e.g. AccessDeniedException, HTTP 400). */
  refuse?: { type: string; message: string; status: number };
  private server?: Server;

  constructor(private readonly options: MockEcrOptions = {}) {}

  get url(): string {
    const a = this.server?.address() as AddressInfo | null;
    if (!a) throw new Error('mock ECR not started');
    return `http://127.0.0.1:${a.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 64 << 10) req.destroy();
        else chunks.push(c);
      });
      req.on('end', () => {
        const auth = String(req.headers['authorization'] ?? '');
        // AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, SignedHeaders=…, Signature=…
        const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
        const target = String(req.headers['x-amz-target'] ?? '');
        const reply = (status: number, body: unknown) => {
          res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify(body));
        };
        if (!scope) return reply(403, { __type: 'MissingAuthenticationTokenException', message: 'request is not signed' });
        this.calls.push({ accessKeyId: scope[1]!, region: scope[2]!, service: scope[3]!, target });
        if (target !== 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken') {
          return reply(400, { __type: 'UnknownOperationException', message: `not mocked: ${target}` });
        }
        if (this.refuse) return reply(this.refuse.status, { __type: this.refuse.type, message: this.refuse.message });
        const n = this.calls.length;
        const user = this.options.username ?? 'AWS';
        const password = this.options.password?.(n) ?? `ecr-password-${n}`;
        reply(200, {
          authorizationData: [
            {
              authorizationToken: Buffer.from(`${user}:${password}`).toString('base64'),
              expiresAt: (Date.now() + (this.options.validForMs ?? 12 * 3600_000)) / 1000,
              proxyEndpoint: `https://${scope[2]}.example.invalid`,
            },
          ],
        });
      });
    });
    await listenOnLoopback(this.server);
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }
}

/**
 * Points the AWS SDK's default credential chain at fixed keys for this process and at nothing
 * else: no shared config files, no instance metadata service, no container or web identity
 * endpoints. Returns a function that restores the environment.
 */
export function useStaticAwsKeys(accessKeyId: string, secretAccessKey: string): () => void {
  return withEnv(
    ['AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'],
    {
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/kuik-test/credentials',
      AWS_CONFIG_FILE: '/nonexistent/kuik-test/config',
    },
  );
}
