import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { cachedImageCrd, repositoryCrd } from './definitions.js';
import { renderCrdFiles } from './render.js';

const crdDir = fileURLToPath(new URL('../../crds', import.meta.url));

describe('CRDs', () => {
  it('the committed YAML is what definitions.ts generates (run: npx nx run controller:generate-crds)', () => {
    const files = renderCrdFiles();
    expect(readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).sort()).toEqual(files.map((f) => f.file).sort());
    for (const f of files) expect(readFileSync(path.join(crdDir, f.file), 'utf8')).toBe(f.content);
  });

  it('keeps the kube-image-keeper 1.x compatibility surface', () => {
    for (const crd of [cachedImageCrd, repositoryCrd]) {
      expect(crd.spec.group).toBe('kuik.enix.io');
      expect(crd.spec.scope).toBe('Cluster');
      expect(crd.spec.versions.map((v) => v.name)).toEqual(['v1alpha1']);
      expect(crd.spec.versions[0]!.subresources).toEqual({ status: {} });
    }
    const ci = cachedImageCrd.spec.versions[0]!.schema.openAPIV3Schema.properties!;
    expect(Object.keys(ci['spec']!.properties!)).toEqual(['sourceImage', 'expiresAt', 'retain']);
    expect(Object.keys(ci['status']!.properties!)).toEqual(
      expect.arrayContaining(['isCached', 'phase', 'usedBy', 'digest', 'upstreamDigest', 'upToDate', 'lastSync', 'lastSuccessfulPull', 'availableUpstream', 'lastSeenUpstream']),
    );
    expect(ci['status']!.properties!['phase']!.enum).toEqual(['Synchronizing', 'Pulling', 'ErrImagePull', 'Ready', 'Terminating']);
    const repo = repositoryCrd.spec.versions[0]!.schema.openAPIV3Schema.properties!;
    expect(Object.keys(repo['spec']!.properties!)).toEqual(['name', 'pullSecretNames', 'pullSecretsNamespace', 'updateInterval', 'updateFilters']);
    expect(Object.keys(repo['status']!.properties!)).toEqual(['images', 'phase', 'lastUpdate', 'conditions']);
    expect(cachedImageCrd.spec.names.shortNames).toEqual(['ci']);
    expect(repositoryCrd.spec.names.shortNames).toEqual(['repo']);
    expect(parse(renderCrdFiles()[0]!.content)).toEqual(cachedImageCrd);
  });
});
