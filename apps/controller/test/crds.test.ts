// The generated CRDs installed into the real kube-apiserver: served, validated (bad objects are
// rejected by the API server), status subresource, printer columns and short names.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { requireTool } from '@kuik/testing';
import { CACHED_IMAGES_PATH, REPOSITORIES_PATH } from '../src/crds/types.js';
import { KubeApiError } from '../src/kube/client.js';
import { installCrds, kube, kubeEnv, suffix } from './harness.js';

const created: string[] = [];

beforeAll(async () => {
  await installCrds();
});

afterAll(async () => {
  for (const p of created) await kube().delete(p);
});

async function rejected(path: string, body: unknown): Promise<string> {
  try {
    await kube().create(path, body);
  } catch (err) {
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(422);
    return (err as Error).message;
  }
  throw new Error('the API server accepted an invalid object');
}

describe('kuik CRDs in the API server', () => {
  it('accepts a valid CachedImage; status only through the status subresource', async () => {
    const name = `docker.io-library-nginx-${suffix()}`;
    created.push(`${CACHED_IMAGES_PATH}/${name}`);
    const ci = await kube().create<{ metadata: { name: string } }>(CACHED_IMAGES_PATH, {
      apiVersion: 'kuik.enix.io/v1alpha1',
      kind: 'CachedImage',
      metadata: { name },
      spec: { sourceImage: 'docker.io/library/nginx:1.27', retain: true },
      status: { phase: 'Ready' }, // ignored on create
    });
    expect(ci.metadata.name).toBe(name);
    const got = await kube().get<{ status?: unknown }>(`${CACHED_IMAGES_PATH}/${name}`);
    expect(got.status).toBeUndefined();
    await kube().mergePatch(`${CACHED_IMAGES_PATH}/${name}/status`, { status: { phase: 'Ready', isCached: true, usedBy: { pods: [{ namespacedName: 'a/b' }], count: 1 } } });
    const after = await kube().get<{ status: { phase: string; usedBy: { count: number } } }>(`${CACHED_IMAGES_PATH}/${name}`);
    expect(after.status).toMatchObject({ phase: 'Ready', usedBy: { count: 1 } });
    await expect(kube().mergePatch(`${CACHED_IMAGES_PATH}/${name}/status`, { status: { phase: 'Downloading' } })).rejects.toThrow(/phase/);
  });

  it('rejects invalid objects', async () => {
    const ci = (spec: unknown) => ({ apiVersion: 'kuik.enix.io/v1alpha1', kind: 'CachedImage', metadata: { name: `bad-${suffix()}` }, spec });
    expect(await rejected(CACHED_IMAGES_PATH, ci({}))).toMatch(/sourceImage/);
    expect(await rejected(CACHED_IMAGES_PATH, ci({ sourceImage: '' }))).toMatch(/sourceImage/);
    expect(await rejected(CACHED_IMAGES_PATH, ci({ sourceImage: 'nginx', retain: 'yes' }))).toMatch(/retain/);
    expect(await rejected(CACHED_IMAGES_PATH, ci({ sourceImage: 'nginx', expiresAt: 'tomorrow' }))).toMatch(/expiresAt/);
    const repo = (spec: unknown) => ({ apiVersion: 'kuik.enix.io/v1alpha1', kind: 'Repository', metadata: { name: `bad-${suffix()}` }, spec });
    expect(await rejected(REPOSITORIES_PATH, repo({}))).toMatch(/name/);
    expect(await rejected(REPOSITORIES_PATH, repo({ name: 'docker.io/library/nginx', updateInterval: 'every hour' }))).toMatch(/updateInterval/);
    expect(await rejected(REPOSITORIES_PATH, repo({ name: 'docker.io/library/nginx', pullSecretNames: ['s'] }))).toMatch(/pullSecretsNamespace/);
  });

  it('prints the 1.x columns and answers to the short names', async () => {
    const name = `docker.io-library-redis-${suffix()}`;
    created.push(`${CACHED_IMAGES_PATH}/${name}`);
    await kube().create(CACHED_IMAGES_PATH, { apiVersion: 'kuik.enix.io/v1alpha1', kind: 'CachedImage', metadata: { name }, spec: { sourceImage: 'docker.io/library/redis:7' } });
    // kube-apiserver.sh builds kubectl with the server and publishes it next to KUBECONFIG.
    const kubectl = kubeEnv()['KUBECTL_BIN'] ?? requireTool('KUBECTL_BIN');
    const out = spawnSync(kubectl, ['--kubeconfig', kubeEnv()['KUBECONFIG']!, 'get', 'ci', name], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(out.stdout.split('\n')[0]!.split(/\s{2,}/)).toEqual(['NAME', 'STATUS', 'CACHED', 'RETAIN', 'EXPIRES AT', 'PODS COUNT', 'AGE']);
    const repos = spawnSync(kubectl, ['--kubeconfig', kubeEnv()['KUBECONFIG']!, 'get', 'repo'], { encoding: 'utf8' });
    expect(repos.status).toBe(0);
    const wide = spawnSync(kubectl, ['--kubeconfig', kubeEnv()['KUBECONFIG']!, 'get', 'cachedimages', name, '-o', 'wide'], { encoding: 'utf8' });
    expect(wide.stdout).toContain('docker.io/library/redis:7');
  });
});
