// Certificates for the self-managed webhook TLS: a private CA and a serving certificate it signs.
// Node's crypto makes keys but not X.509 certificates, so node-forge builds and signs them; keys
// are generated natively (RSA 2048, fast) and handed to forge as PEM.
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface KeyPairPem {
  cert: string;
  key: string;
}

function newKey(): { privatePem: string; forgeKey: forge.pki.rsa.PrivateKey; forgePublic: forge.pki.rsa.PublicKey } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privatePem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(privatePem);
  return { privatePem, forgeKey, forgePublic: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}

function serial(): string {
  // Positive 128-bit serial (leading byte < 0x80 keeps it positive in DER).
  const b = randomBytes(16);
  b[0] = (b[0] as number) & 0x7f;
  return b.toString('hex');
}

function validity(cert: forge.pki.Certificate, validForMs: number, now: number): void {
  // Backdated a little: clocks of the API server and this pod may differ slightly.
  cert.validity.notBefore = new Date(now - 5 * 60_000);
  cert.validity.notAfter = new Date(now + validForMs);
}

/** A self-signed CA allowed to sign serving certificates only (pathLen 0). */
export function createCa(commonName: string, validForMs: number, now = Date.now()): KeyPairPem {
  const k = newKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = k.forgePublic;
  cert.serialNumber = serial();
  validity(cert, validForMs, now);
  const attrs = [{ name: 'commonName', value: commonName }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(k.forgeKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n'), key: k.privatePem };
}

/** A serving certificate for `hosts` (DNS names or IP addresses), signed by `ca`. */
export function createServingCert(ca: KeyPairPem, hosts: string[], validForMs: number, now = Date.now()): KeyPairPem {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const k = newKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = k.forgePublic;
  cert.serialNumber = serial();
  validity(cert, validForMs, now);
  cert.setSubject([{ name: 'commonName', value: hosts[0] ?? 'kuik-webhook' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n'), key: k.privatePem };
}

/** notAfter of the first certificate in a PEM, or undefined when it does not parse. */
export function certificateExpiry(pem: string): number | undefined {
  try {
    return Date.parse(new X509Certificate(pem).validTo);
  } catch {
    return undefined;
  }
}

/** Splits a PEM bundle into its certificates. */
export function splitPemBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)?.map((c) => c.trimEnd() + '\n') ?? [];
}

/** Whether a serving certificate is signed by `caPem` and covers every host. */
export function servingCertMatches(certPem: string, caPem: string, hosts: string[]): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    return hosts.every((h) => (isIP(h) ? cert.checkIP(h) !== undefined : cert.checkHost(h) !== undefined));
  } catch {
    return false;
  }
}
