// The workspace's own rules, checked the way a developer would hit them.
import { describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const readJson = (p: string) => JSON.parse(readFileSync(path.join(root, p), 'utf8'));

function projects(): { dir: string; pkg: { name: string; version: string; nx?: { name?: string; tags?: string[] } } }[] {
  return ['apps', 'libs', 'tools']
    .flatMap((top) => readdirSync(path.join(root, top)).map((d) => `${top}/${d}`))
    .filter((dir) => existsSync(path.join(root, dir, 'package.json')))
    .map((dir) => ({ dir, pkg: readJson(`${dir}/package.json`) }));
}

async function boundaryErrors(fileInProject: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(code, { filePath: path.join(root, fileInProject) });
  return result!.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('module boundaries (lint)', () => {
  it('an app importing another app fails lint', async () => {
    const errors = await boundaryErrors('apps/proxy/src/probe.ts', "import '@kuik/registry';\nexport const x = 1;\n");
    expect(errors.length).toBeGreaterThan(0);
  }, 120_000);

  it('a library importing an app fails lint', async () => {
    const errors = await boundaryErrors('libs/oci/src/probe.ts', "import '@kuik/controller';\nexport const x = 1;\n");
    expect(errors.length).toBeGreaterThan(0);
  }, 120_000);

  it('a shared library importing a registry-scoped library fails lint', async () => {
    const errors = await boundaryErrors('libs/oci/src/probe.ts', "import '@kuik/storage';\nexport const x = 1;\n");
    expect(errors.join('\n')).toMatch(/scope:shared/);
  }, 120_000);

  it('an app importing a shared library passes', async () => {
    expect(await boundaryErrors('apps/proxy/src/probe.ts', "import '@kuik/config';\nexport const x = 1;\n")).toEqual([]);
  }, 120_000);
});

describe('project conventions', () => {
  it('every project is @kuik/<name>, versioned, with one type:* and one scope:* tag', () => {
    const all = projects();
    expect(all.length).toBeGreaterThanOrEqual(9);
    for (const { dir, pkg } of all) {
      expect(pkg.name).toBe(`@kuik/${path.basename(dir)}`);
      expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
      const tags = pkg.nx?.tags ?? [];
      expect(tags.filter((t) => t.startsWith('type:'))).toHaveLength(1);
      expect(tags.filter((t) => t.startsWith('scope:'))).toHaveLength(1);
    }
  });

  it('the three apps and the required libraries exist', () => {
    const dirs = projects().map((p) => p.dir);
    for (const d of ['apps/controller', 'apps/proxy', 'apps/registry', 'libs/storage', 'libs/oci', 'libs/leader-election']) {
      expect(dirs).toContain(d);
    }
  });
});

describe('toolchain pins', () => {
  const rootPkg = readJson('package.json');
  it('nx and every @nx/* package share one exact version', () => {
    const deps: Record<string, string> = { ...rootPkg.dependencies, ...rootPkg.devDependencies };
    const nxVersions = Object.entries(deps).filter(([n]) => n === 'nx' || n.startsWith('@nx/'));
    expect(nxVersions.length).toBeGreaterThanOrEqual(4);
    expect(new Set(nxVersions.map(([, v]) => v)).size).toBe(1);
    expect(nxVersions[0]![1]).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('requires Node >= 22 and runs on it', () => {
    expect(rootPkg.engines.node).toBe('>=22');
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
  });
});
