// Self-managed webhook TLS against the real kube-apiserver, with the clock moved forward: the
// serving certificate is renewed with a third of its life left (caBundle unchanged); the CA is
// renewed by adding the new CA to caBundle before the Secret switches to it, and the old CA
// leaves the bundle once expired; a caBundle reset by `helm upgrade` is written again.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import type { Secret } from '../src/kube/types.js';
import { splitPemBundle } from '../src/webhook/tls/certs.js';
import { SelfManagedTls } from '../src/webhook/tls/self-managed.js';
import { applyWebhookConfiguration, createNamespace, deleteNamespace, deleteWebhookConfiguration, kube, silentLogger, suffix } from './harness.js';

const HOUR = 3_600_000;
const CERT_VALIDITY = 24 * HOUR;
const CA_VALIDITY = 240 * HOUR;
const HOSTS = ['kuik-controller.kuik-system.svc', '127.0.0.1'];

let ns = '';
let webhookName = '';
let now = Date.now();
let tls: SelfManagedTls;

const secret = async () => {
  const s = await kube().get<Secret>(`/api/v1/namespaces/${ns}/secrets/kuik-webhook-tls`);
  const d = (k: string) => Buffer.from(s.data?.[k] ?? '', 'base64').toString('utf8');
  return { caBundle: d('ca.crt'), cert: d('tls.crt') };
};
const caBundle = async () => {
  const mwc = await kube().get<{ webhooks: { clientConfig: { caBundle?: string } }[] }>(`/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${webhookName}`);
  return Buffer.from(mwc.webhooks[0]?.clientConfig.caBundle ?? '', 'base64').toString('utf8');
};
const issuedBy = (cert: string, ca: string) => new X509Certificate(cert).verify(new X509Certificate(ca).publicKey);
const serial = (cert: string) => new X509Certificate(cert).serialNumber;

beforeAll(async () => {
  ns = await createNamespace('kuik-tls');
  webhookName = `kuik-tls-${suffix()}`;
  // As the chart installs it: no caBundle.
  await applyWebhookConfiguration({ name: webhookName, url: 'https://127.0.0.1:9/mutate', namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': `${ns}-none` } } });
  tls = new SelfManagedTls({
    client: kube(),
    namespace: ns,
    secretName: 'kuik-webhook-tls',
    webhookConfigurationName: webhookName,
    hosts: HOSTS,
    certValidityMs: CERT_VALIDITY,
    caValidityMs: CA_VALIDITY,
    logger: silentLogger,
    now: () => now,
  });
});

afterAll(async () => {
  await deleteWebhookConfiguration(webhookName);
  await deleteNamespace(ns);
});

describe('self-managed webhook TLS', () => {
  it('creates the CA and serving certificate, then renews them before expiry without breaking trust', async () => {
    const signal = new AbortController().signal;
    const first = await tls.reconcile(signal);
    const s0 = await secret();
    const [ca0] = splitPemBundle(s0.caBundle);
    expect(splitPemBundle(s0.caBundle)).toHaveLength(1);
    expect(issuedBy(s0.cert, ca0!)).toBe(true);
    expect(await caBundle()).toBe(s0.caBundle);
    // Next check: when the serving certificate has a third of its life left.
    expect(first.requeueAfterMs).toBe(Math.min(HOUR, (CERT_VALIDITY * 2) / 3));

    // Nothing is due: nothing changes.
    now += HOUR;
    await tls.reconcile(signal);
    expect(await secret()).toEqual(s0);

    // A third of the serving certificate's life left: new certificate, same CA, same caBundle.
    now += (CERT_VALIDITY * 2) / 3;
    await tls.reconcile(signal);
    const s1 = await secret();
    expect(serial(s1.cert)).not.toBe(serial(s0.cert));
    expect(s1.caBundle).toBe(s0.caBundle);
    expect(issuedBy(s1.cert, ca0!)).toBe(true);
    expect(await caBundle()).toBe(s0.caBundle);

    // A third of the CA's life left: the new CA comes first in caBundle, the old one stays
    // trusted (certificates it signed may still be served by replicas that have not reloaded).
    now += (CA_VALIDITY * 2) / 3;
    await tls.reconcile(signal);
    const s2 = await secret();
    const cas = splitPemBundle(s2.caBundle);
    expect(cas).toHaveLength(2);
    expect(cas[1]).toBe(ca0);
    expect(issuedBy(s2.cert, cas[0]!)).toBe(true);
    expect(await caBundle()).toBe(s2.caBundle);

    // Once the old CA has expired it leaves the bundle.
    now += CA_VALIDITY / 3 + HOUR;
    await tls.reconcile(signal);
    const s3 = await secret();
    expect(splitPemBundle(s3.caBundle)).toEqual([cas[0]]);
    expect(await caBundle()).toBe(s3.caBundle);
  }, 180_000); // five RSA key pairs: seconds each on a busy machine

  it('writes caBundle again when something resets it (helm upgrade)', async () => {
    const before = await caBundle();
    expect(before).toContain('BEGIN CERTIFICATE');
    await kube().jsonPatch(`/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${webhookName}`, [{ op: 'remove', path: '/webhooks/0/clientConfig/caBundle' }]);
    expect(await caBundle()).toBe('');
    await tls.reconcile(new AbortController().signal);
    expect(await caBundle()).toBe(before);
  });
});
