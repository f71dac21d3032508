// The GitHub Actions workflows are linted with actionlint (built by tools/test-servers/tools.sh).
import { describe, expect, it } from '@jest/globals';
import { requireTool } from '@kuik/testing';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = path.join(root, '.github/workflows');
const workflows = readdirSync(dir).filter((f) => f.endsWith('.yml'));

describe('GitHub Actions workflows', () => {
  it('pass actionlint', () => {
    const r = spawnSync(requireTool('ACTIONLINT_BIN'), ['-color=false', ...workflows.map((f) => path.join(dir, f))], { cwd: root, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('pull requests run only affected projects with the Nx SHAs set; main runs everything', () => {
    const ci = parse(readFileSync(path.join(dir, 'ci.yml'), 'utf8'));
    const steps = ci.jobs.test.steps as { uses?: string; run?: string; if?: string }[];
    expect(steps.some((s) => s.uses?.startsWith('nrwl/nx-set-shas@'))).toBe(true);
    expect(steps.find((s) => s.if === "github.event_name == 'pull_request'")?.run).toBe('bash tools/test.sh affected');
    expect(steps.find((s) => s.if === "github.event_name != 'pull_request'")?.run).toBe('bash tools/test.sh');
  });

  it('the release publishes only what was released', () => {
    const rel = readFileSync(path.join(dir, 'release.yml'), 'utf8');
    expect(rel).toContain('git tag --points-at HEAD');
    expect(rel).toContain('--projects="$PROJECTS"');
  });

  it('checks the chart on a pull request only when the chart, an app version or the CRDs change', () => {
    const chartChanged = (files: string[]) =>
      spawnSync('bash', [path.join(root, 'tools/chart/changed.sh')], { input: files.join('\n') + '\n', encoding: 'utf8' }).status === 0;
    expect(chartChanged(['apps/proxy/src/proxy.ts', 'libs/oci/src/digest.ts'])).toBe(false);
    expect(chartChanged(['apps/registry/src/config.ts', 'apps/registry/package.json'])).toBe(true);
    expect(chartChanged(['charts/kuik/values.yaml'])).toBe(true);
    expect(chartChanged(['apps/controller/crds/cachedimages.kuik.enix.io.yaml'])).toBe(true);
    expect(chartChanged(['apps/controller/src/crds/definitions.ts'])).toBe(false);
    expect(readFileSync(path.join(root, 'tools/test.sh'), 'utf8')).toContain('bash tools/chart/changed.sh');
  });
});
