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
});
