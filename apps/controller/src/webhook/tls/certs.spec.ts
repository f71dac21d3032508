import { describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { certificateExpiry, createCa, createServingCert, servingCertMatches, splitPemBundle } from './certs.js';

describe('webhook certificates', () => {
  const now = Date.now();
  const ca = createCa('kuik-test-ca', 10 * 86_400_000, now);
  const hosts = ['kuik-controller.kuik-system.svc', 'kuik-controller.kuik-system.svc.cluster.local', '127.0.0.1'];
  const leaf = createServingCert(ca, hosts, 86_400_000, now);

  it('makes a CA and a serving certificate Node verifies', () => {
    const c = new X509Certificate(ca.cert);
    expect(c.ca).toBe(true);
    const l = new X509Certificate(leaf.cert);
    expect(l.ca).toBe(false);
    expect(l.checkIssued(c)).toBe(true);
    expect(l.verify(c.publicKey)).toBe(true);
    expect(l.checkHost('kuik-controller.kuik-system.svc')).toBeDefined();
    expect(l.checkIP('127.0.0.1')).toBeDefined();
    expect(servingCertMatches(leaf.cert, ca.cert, hosts)).toBe(true);
    expect(servingCertMatches(leaf.cert, ca.cert, ['other.svc'])).toBe(false);
    expect(servingCertMatches(leaf.cert, createCa('other', 86_400_000).cert, hosts)).toBe(false);
    expect(Math.abs(certificateExpiry(leaf.cert)! - (now + 86_400_000))).toBeLessThan(2000);
  });

  it('splits CA bundles', () => {
    const other = createCa('b', 86_400_000);
    expect(splitPemBundle(ca.cert + other.cert)).toEqual([ca.cert, other.cert]);
    expect(splitPemBundle('')).toEqual([]);
  });
});
