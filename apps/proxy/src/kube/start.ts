// Turns the kubernetes.* configuration into a credentials resolver. The kubeconfig (or the
// in-cluster service account) is read in the background, after the proxy is listening: until the
// Secrets are read, origins are tried with the other credentials.
import type { Credentials, CredentialsResolver } from '@kuik/oci/client';
import type { Logger } from '@kuik/observability';
import type { ProxyConfig } from '../config.js';
import { KubeApi } from './api.js';
import { loadKubeEndpoint } from './kubeconfig.js';
import { KubernetesPullSecrets } from './pull-secrets.js';

export class KubernetesCredentials implements CredentialsResolver {
  private secrets?: KubernetesPullSecrets;
  private closed = false;
  /** Resolves once the watches are started (or failed to be: logged, credentials stay empty). */
  readonly started: Promise<void>;

  constructor(config: ProxyConfig['kubernetes'], userAgent: string, logger: Logger) {
    this.started = (async () => {
      // Let start-up finish (and the socket be bound) before reading any file.
      await new Promise((resolve) => setImmediate(resolve));
      const endpoint = loadKubeEndpoint(config.kubeconfig);
      if (this.closed) return;
      this.secrets = new KubernetesPullSecrets({
        api: new KubeApi(endpoint, userAgent),
        repositories: config.repositories,
        fixed: config.pullSecret && config.namespace ? { namespace: config.namespace, name: config.pullSecret } : undefined,
        logger,
      }).start();
      logger.info('reading pull secrets from kubernetes', { server: endpoint.server.origin, from: endpoint.source, repositories: config.repositories, pullSecret: config.pullSecret ? `${config.namespace}/${config.pullSecret}` : null });
    })().catch((err: unknown) => logger.error('cannot read pull secrets from kubernetes', { err }));
  }

  get pullSecrets(): KubernetesPullSecrets | undefined {
    return this.secrets;
  }

  async resolve(host: string): Promise<Credentials | undefined> {
    return this.secrets?.resolve(host);
  }

  close(): void {
    this.closed = true;
    this.secrets?.close();
  }
}

/** The resolver when the configuration asks for Kubernetes credentials, else undefined. */
export function startKubernetesCredentials(config: ProxyConfig, userAgent: string, logger: Logger): KubernetesCredentials | undefined {
  const k = config.kubernetes;
  if (!k.repositories && !k.pullSecret) return undefined;
  return new KubernetesCredentials(k, userAgent, logger);
}
