import { describe, expect, it } from '@jest/globals';
import { cachedImageName, originalImageAnnotation, repositoryLabelValue, repositoryObjectName, sanitizeName } from './naming.js';
import { cacheRepository, canonicalImage, originalFromRewritten, parseImage, rewrittenImage } from './reference.js';

const DIGEST = 'sha256:' + 'a'.repeat(64);

describe('rewrittenImage', () => {
  it.each([
    ['nginx:1.27', 'localhost:7439/docker.io/library/nginx:1.27'],
    ['nginx', 'localhost:7439/docker.io/library/nginx'],
    ['index.docker.io/library/nginx:1', 'localhost:7439/docker.io/library/nginx:1'],
    ['docker.io/bitnami/redis:7', 'localhost:7439/docker.io/bitnami/redis:7'],
    ['ghcr.io/a/b/c:v1', 'localhost:7439/ghcr.io/a/b/c:v1'],
    [`my.reg:5000/a/b@${DIGEST}`, `localhost:7439/my.reg-5000/a/b@${DIGEST}`],
    [`nginx:1.27@${DIGEST}`, `localhost:7439/docker.io/library/nginx:1.27@${DIGEST}`],
    ['localhost:5000/x:y', 'localhost:7439/localhost-5000/x:y'],
  ])('%s → %s', (image, expected) => {
    expect(rewrittenImage('localhost:7439', parseImage(image))).toBe(expected);
    expect(originalFromRewritten('localhost:7439', expected)).toBe(
      // the reverse mapping gives the normalized spelling of the same image
      `${parseImage(image).domain}/${parseImage(image).path}${expected.slice(expected.lastIndexOf('/') + expected.slice(expected.lastIndexOf('/')).search(/[:@]|$/))}`,
    );
  });

  it('refuses what cannot be cached', () => {
    expect(() => parseImage('')).toThrow();
    expect(() => parseImage('UPPER/case:1')).not.toThrow(); // an upper-case first segment is a host
    expect(() => parseImage('nginx:bad tag')).toThrow();
    expect(() => parseImage('[::1]:5000/x:1')).toThrow(/IPv6/);
  });
});

describe('canonical names', () => {
  it('normalizes the source image: latest when nothing written, only the digest when pinned', () => {
    expect(canonicalImage(parseImage('nginx'))).toBe('docker.io/library/nginx:latest');
    expect(canonicalImage(parseImage(`nginx:1@${DIGEST}`))).toBe(`docker.io/library/nginx@${DIGEST}`);
    expect(cacheRepository(parseImage('my.reg:5000/a/b:1'))).toBe('my.reg-5000/a/b');
  });

  it('names CachedImages like kube-image-keeper 1.x', () => {
    expect(cachedImageName(parseImage('nginx:1.27'))).toBe('docker.io-library-nginx-1.27');
    expect(cachedImageName(parseImage('nginx'))).toBe('docker.io-library-nginx-latest');
    expect(cachedImageName(parseImage('my.reg:5000/a/b:v1'))).toBe('my.reg-5000-a-b-v1');
    expect(cachedImageName(parseImage(`nginx@${DIGEST}`))).toBe(`docker.io-library-nginx-sha256-${'a'.repeat(64)}`);
    expect(repositoryObjectName(parseImage('nginx:1'))).toBe('docker.io-library-nginx');
    expect(sanitizeName('Docker.io/Library/Nginx:1.27')).toBe('docker.io-library-nginx-1.27');
  });

  it('adds a hash when sanitizing loses information, keeping names valid and distinct', () => {
    const upper = cachedImageName(parseImage('nginx:V1'));
    const lower = cachedImageName(parseImage('nginx:v1'));
    const underscore = cachedImageName(parseImage('nginx:my_tag'));
    expect(upper).not.toBe(lower);
    expect(upper).toMatch(/^docker\.io-library-nginx-v1-[0-9a-f]{10}$/);
    expect(underscore).toMatch(/^docker\.io-library-nginx-my-tag-[0-9a-f]{10}$/);
    const long = cachedImageName(parseImage(`registry.example.com/${'a'.repeat(120)}/${'b'.repeat(100)}:${'c'.repeat(100)}`));
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    expect(repositoryLabelValue(parseImage(`registry.example.com/${'a'.repeat(80)}:1`))).toMatch(/^[0-9a-f]{56}$/);
  });

  it('keys original-image annotations like 1.x (sha1 of long container names)', () => {
    expect(originalImageAnnotation('app', 'container')).toBe('original-image-app');
    expect(originalImageAnnotation('setup', 'init')).toBe('original-init-image-setup');
    expect(originalImageAnnotation('debugger', 'ephemeral')).toBe('original-ephemeral-image-debugger');
    expect(originalImageAnnotation('x'.repeat(60), 'container')).toMatch(/^original-image-[0-9a-f]{40}$/);
  });
});
