import { describe, expect, it } from '@jest/globals';
import { buildPolicy } from '../webhook/policy.js';
import { UsageIndex } from './index.js';
import { podUses, workloadUses } from './sources.js';

const policy = buildPolicy({
  proxyAddress: 'localhost:7439',
  ownNamespace: 'kuik-system',
  ignoredNamespaces: [],
  ignoredImages: [],
  acceptedImages: [],
  ignorePullPolicyAlways: true,
  requireProxyReadyNode: true,
  podPullSecrets: true,
});

const managedPod = (name: string, image: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: 'ns', labels: { 'kuik.enix.io/managed': 'true' }, annotations: { 'original-image-app': image } },
  spec: { containers: [{ name: 'app', image: `localhost:7439/docker.io/library/${image}` }] },
  ...extra,
});

describe('usage sources and index', () => {
  it('reads pods from annotations, ephemeral containers from the rewritten image; finished pods do not count', () => {
    expect(podUses(managedPod('a', 'nginx:1.27'), 'localhost:7439')?.images).toEqual([{ name: 'docker.io-library-nginx-1.27', source: 'docker.io/library/nginx:1.27' }]);
    expect(podUses(managedPod('a', 'nginx:1.27', { status: { phase: 'Succeeded' } }), 'localhost:7439')).toBeUndefined();
    const eph = { metadata: { name: 'd', namespace: 'ns', labels: { 'kuik.enix.io/managed': 'true' } }, spec: { ephemeralContainers: [{ name: 'dbg', image: 'localhost:7439/my.reg-5000/tools:1' }] } };
    expect(podUses(eph, 'localhost:7439')?.images).toEqual([{ name: 'my.reg-5000-tools-1', source: 'my.reg:5000/tools:1' }]);
    expect(podUses({ metadata: { name: 'u', namespace: 'ns' }, spec: { containers: [{ name: 'a', image: 'nginx' }] } }, 'localhost:7439')).toBeUndefined();
  });

  it('does not count pod images that ignoredImages / acceptedImages keep out of kuik', () => {
    const accepting = { ignoredImages: [], acceptedImages: [/^my\.reg:5000\//] };
    expect(podUses(managedPod('a', 'nginx:1.27'), 'localhost:7439', accepting)).toBeUndefined();
    const two = managedPod('a', 'nginx:1.27', {
      metadata: { name: 'a', namespace: 'ns', labels: { 'kuik.enix.io/managed': 'true' }, annotations: { 'original-image-app': 'nginx:1.27', 'original-image-b': 'redis:7' } },
      spec: { containers: [{ name: 'app', image: 'localhost:7439/docker.io/library/nginx:1.27' }, { name: 'b', image: 'localhost:7439/docker.io/library/redis:7' }] },
    });
    // Patterns match the image as written or as normalized.
    expect(podUses(two, 'localhost:7439', { ignoredImages: [/^docker\.io\/library\/nginx:/], acceptedImages: [] })?.images.map((i) => i.source)).toEqual(['docker.io/library/redis:7']);
    expect(podUses(two, 'localhost:7439', { ignoredImages: [/^redis/], acceptedImages: [] })?.images.map((i) => i.source)).toEqual(['docker.io/library/nginx:1.27']);
  });

  it('counts workload templates with the webhook policy', () => {
    const tpl = { metadata: { labels: {} }, spec: { containers: [{ name: 'a', image: 'redis:7', imagePullPolicy: 'IfNotPresent' }, { name: 'b', image: 'x:latest' }] } };
    expect(workloadUses('Deployment', { metadata: { name: 'd', namespace: 'ns' } }, tpl, policy)?.images.map((i) => i.source)).toEqual(['docker.io/library/redis:7']);
    expect(workloadUses('Deployment', { metadata: { name: 'd', namespace: 'kube-system' } }, tpl, policy)).toBeUndefined();
  });

  it('tracks users exactly and reports the names that changed', () => {
    const idx = new UsageIndex();
    const changed: string[] = [];
    idx.onChange((n) => changed.push(n));
    const a = podUses(managedPod('a', 'nginx:1.27'), 'localhost:7439');
    const b = podUses(managedPod('b', 'nginx:1.27'), 'localhost:7439');
    idx.podChanged(undefined, a);
    idx.podChanged(undefined, b);
    idx.podChanged(a, a); // no change
    expect(idx.get('docker.io-library-nginx-1.27')?.pods).toEqual(new Set(['ns/a', 'ns/b']));
    idx.podChanged(a, undefined);
    idx.podChanged(b, undefined);
    expect(idx.inUse('docker.io-library-nginx-1.27')).toBe(false);
    expect(changed).toEqual(Array(4).fill('docker.io-library-nginx-1.27'));
  });
});
