// Self-managed webhook TLS (no cert-manager). The leader keeps, in one Secret of the controller's
// namespace, a private CA and a serving certificate, and writes the CA bundle into the
// MutatingWebhookConfiguration's caBundle; every replica watches that Secret and reloads its
// server certificate from it.
//
// Rotation never breaks the API server's trust:
//   - the serving certificate is renewed when a third of its validity is left (same CA: the
//     caBundle does not change);
//   - the CA is renewed the same way, but the new CA is first *added* to caBundle (old + new),
//     and only then is the Secret switched to a certificate signed by it; the old CA leaves the
//     bundle once it has expired.
// A `helm upgrade` that re-applies the webhook configuration with an empty caBundle is repaired
// by the leader, which watches the configuration.
import type { Logger } from '@kuik/observability';
import { isConflict, isNotFound, type KubeClient } from '../../kube/client.js';
import { Informer } from '../../kube/informer.js';
import type { Secret } from '../../kube/types.js';
import { certificateExpiry, createCa, createServingCert, servingCertMatches, splitPemBundle, type KeyPairPem } from './certs.js';

export interface SelfManagedTlsOptions {
  client: KubeClient;
  namespace: string;
  secretName: string;
  webhookConfigurationName: string;
  /** DNS names and IPs the serving certificate must cover. */
  hosts: string[];
  certValidityMs: number;
  caValidityMs?: number;
  logger: Logger;
  now?: () => number;
}

interface StoredTls {
  resourceVersion: string;
  caBundle: string;
  caKey: string;
  cert: string;
  key: string;
}

const MWC_PATH = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

export function serviceHosts(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, `${service}.${namespace}`, service];
}

export class SelfManagedTls {
  /** Every replica: the Secret holding the current material. */
  readonly secretInformer: Informer<StoredTls>;
  /** Leader: the webhook configuration, to repair its caBundle when something overwrites it. */
  readonly configurationInformer: Informer<{ caBundles: string[] }>;
  private readonly now: () => number;

  constructor(private readonly opts: SelfManagedTlsOptions) {
    this.now = opts.now ?? Date.now;
    this.secretInformer = new Informer<StoredTls>({
      name: 'webhook-tls-secret',
      client: opts.client,
      path: `/api/v1/namespaces/${opts.namespace}/secrets`,
      fieldSelector: `metadata.name=${opts.secretName}`,
      transform: (o) => decodeSecret(o as Secret),
      logger: opts.logger,
    });
    this.configurationInformer = new Informer({
      name: 'webhook-configuration',
      client: opts.client,
      path: MWC_PATH,
      fieldSelector: `metadata.name=${opts.webhookConfigurationName}`,
      transform: (o) => ({ caBundles: ((o['webhooks'] as { clientConfig?: { caBundle?: string } }[] | undefined) ?? []).map((w) => w.clientConfig?.caBundle ?? '') }),
      logger: opts.logger,
    });
  }

  /** The serving pair currently stored, if any (what every replica serves). */
  current(): KeyPairPem | undefined {
    const s = this.secretInformer.get(`${this.opts.namespace}/${this.opts.secretName}`);
    return s?.cert && s.key ? { cert: s.cert, key: s.key } : undefined;
  }

  /** Leader: makes the Secret and caBundle right; returns when to check again. */
  async reconcile(signal: AbortSignal): Promise<{ requeueAfterMs: number }> {
    const { client, namespace, secretName, logger } = this.opts;
    const now = this.now();
    const certValidity = this.opts.certValidityMs;
    const caValidity = this.opts.caValidityMs ?? Math.max(10 * certValidity, 10 * 365 * 86_400_000);
    const secretPath = `/api/v1/namespaces/${namespace}/secrets/${secretName}`;
    const stored = decodeSecret((await client.getOrNull<Secret>(secretPath, { signal })) ?? undefined);

    // Trusted CAs: the current one first, then older ones until they expire.
    let cas = splitPemBundle(stored?.caBundle ?? '').filter((c) => (certificateExpiry(c) ?? 0) > now);
    let caPair: KeyPairPem | undefined = stored?.caKey && cas[0] ? { cert: cas[0], key: stored.caKey } : undefined;
    let rotatedCa = false;
    if (!caPair || (certificateExpiry(caPair.cert) ?? 0) - now < caValidity / 3) {
      caPair = createCa(`kuik-webhook-ca-${new Date(now).toISOString().slice(0, 10)}`, caValidity, now);
      cas = [caPair.cert, ...cas];
      rotatedCa = true;
      logger.info('webhook TLS: new certificate authority', { secret: secretName });
    }
    const caBundle = cas.join('');

    let serving: KeyPairPem | undefined = stored?.cert && stored.key ? { cert: stored.cert, key: stored.key } : undefined;
    const servingExpiry = serving ? (certificateExpiry(serving.cert) ?? 0) : 0;
    if (!serving || rotatedCa || servingExpiry - now < certValidity / 3 || !servingCertMatches(serving.cert, caPair.cert, this.opts.hosts)) {
      serving = createServingCert(caPair, this.opts.hosts, certValidity, now);
      logger.info('webhook TLS: new serving certificate', { secret: secretName, hosts: this.opts.hosts });
    }

    // The API server must trust the new CA before any replica serves a certificate signed by it:
    // caBundle first, Secret second.
    await this.patchCaBundle(caBundle, signal);
    const changed = !stored || stored.caBundle !== caBundle || stored.caKey !== caPair.key || stored.cert !== serving.cert;
    if (changed) await this.writeSecret(stored, { caBundle, caKey: caPair.key, cert: serving.cert, key: serving.key }, signal);

    const renewAt = Math.min(
      (certificateExpiry(serving.cert) ?? now) - certValidity / 3,
      (certificateExpiry(caPair.cert) ?? now) - caValidity / 3,
      ...cas.slice(1).map((c) => certificateExpiry(c) ?? now),
    );
    // Checked at least hourly: cheap, and bounds the effect of a missed watch event.
    return { requeueAfterMs: Math.max(1000, Math.min(renewAt - now, 3_600_000)) };
  }

  private async writeSecret(stored: StoredTls | undefined, v: Omit<StoredTls, 'resourceVersion'>, signal: AbortSignal): Promise<void> {
    const { client, namespace, secretName } = this.opts;
    const body: Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: secretName,
        namespace,
        labels: { 'app.kubernetes.io/managed-by': 'kuik-controller' },
        ...(stored ? { resourceVersion: stored.resourceVersion } : {}),
      },
      type: 'kubernetes.io/tls',
      data: { 'ca.crt': b64(v.caBundle), 'ca.key': b64(v.caKey), 'tls.crt': b64(v.cert), 'tls.key': b64(v.key) },
    };
    try {
      if (stored) await client.replace(`/api/v1/namespaces/${namespace}/secrets/${secretName}`, body, { signal });
      else await client.create(`/api/v1/namespaces/${namespace}/secrets`, body, { signal });
    } catch (err) {
      // Someone else wrote it meanwhile (a previous leader): the next reconcile reads it again.
      if (isConflict(err)) throw new Error('webhook TLS secret changed concurrently; retrying', { cause: err });
      throw err;
    }
  }

  private async patchCaBundle(caBundle: string, signal: AbortSignal): Promise<void> {
    const { client, webhookConfigurationName, logger } = this.opts;
    const path = `${MWC_PATH}/${webhookConfigurationName}`;
    const mwc = await client.getOrNull<{ webhooks?: { name: string; clientConfig?: { caBundle?: string } }[] }>(path, { signal });
    if (!mwc) {
      logger.warn('webhook TLS: the MutatingWebhookConfiguration does not exist (yet); caBundle not set', { name: webhookConfigurationName });
      return;
    }
    const want = b64(caBundle);
    const ops: unknown[] = [];
    (mwc.webhooks ?? []).forEach((w, i) => {
      if (w.clientConfig?.caBundle === want) return;
      // The test op makes the patch fail rather than hit the wrong entry if the list was reordered.
      ops.push({ op: 'test', path: `/webhooks/${i}/name`, value: w.name });
      ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: want });
    });
    if (ops.length === 0) return;
    try {
      await client.jsonPatch(path, ops, { signal });
      logger.info('webhook TLS: caBundle written', { configuration: webhookConfigurationName });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

function decodeSecret(s: Secret | undefined): StoredTls | undefined {
  if (!s?.data) return s ? { resourceVersion: s.metadata?.resourceVersion ?? '', caBundle: '', caKey: '', cert: '', key: '' } : undefined;
  const d = (k: string) => (s.data?.[k] ? Buffer.from(s.data[k], 'base64').toString('utf8') : '');
  return { resourceVersion: s.metadata?.resourceVersion ?? '', caBundle: d('ca.crt'), caKey: d('ca.key'), cert: d('tls.crt'), key: d('tls.key') };
}
