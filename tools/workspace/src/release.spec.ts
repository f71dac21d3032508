// Independent releases: a conventional commit touching one library bumps that library and the
// projects that depend on it, and nothing else. Proven on a scratch copy of the workspace with
// its own git history, through `nx release version --dry-run`.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
let scratch: string;

const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=ci@kuik.local', '-c', 'user.name=kuik-ci', '-c', 'commit.gpgsign=false', ...args], {
    cwd: scratch,
    encoding: 'utf8',
  });

function releaseDryRun(): Map<string, string> {
  const out = execFileSync(process.execPath, [path.join(root, 'node_modules/nx/dist/bin/nx.js'), 'release', 'version', '--dry-run'], {
    cwd: scratch,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', FORCE_COLOR: '0', NX_SKIP_NX_CACHE: 'true' },
    maxBuffer: 16 << 20,
  });
  // Lines look like: "config ✍️  New version 0.1.1 written to manifest: libs/config/package.json"
  const bumps = new Map<string, string>();
  for (const m of out.matchAll(/^(\S+) .*New version (\d+\.\d+\.\d+\S*) written to manifest/gm)) bumps.set(m[1]!, m[2]!);
  if (bumps.size === 0) throw new Error(`no version bumps found in nx release output:\n${out}`);
  return bumps;
}

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'kuik-release-'));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && !f.startsWith('node_modules/'));
  for (const f of files) {
    mkdirSync(path.dirname(path.join(scratch, f)), { recursive: true });
    try {
      cpSync(path.join(root, f), path.join(scratch, f));
    } catch {
      // a file listed by git but deleted in the working tree
    }
  }
  symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'));
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', 'chore: initial import');
  for (const p of ['registry', 'proxy', 'controller', 'storage', 'oci', 'leader-election', 'config', 'observability', 'testing']) {
    git('tag', `${p}@0.1.0`);
  }
}, 60_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('nx release (independent versions)', () => {
  it('a fix in libs/config bumps config and its dependents by a patch, and nothing else', () => {
    appendFileSync(path.join(scratch, 'libs/config/src/index.ts'), '// touched by the release test\n');
    git('commit', '-qam', 'fix(config): accept durations with spaces');
    const bumps = releaseDryRun();
    expect(bumps.get('config')).toBe('0.1.1');
    // registry, proxy, controller, storage (its driver parameters) and oci (the credentials
    // settings) depend on @kuik/config
    for (const dependent of ['registry', 'proxy', 'controller', 'storage', 'oci']) expect(bumps.get(dependent)).toBe('0.1.1');
    for (const untouched of ['leader-election', 'testing']) expect(bumps.has(untouched)).toBe(false);
  }, 120_000);

  it('a feat in libs/storage bumps storage by a minor and only the registry depends on it', () => {
    appendFileSync(path.join(scratch, 'libs/storage/src/index.ts'), '// touched again\n');
    git('commit', '-qam', 'feat(storage): a new driver parameter');
    const bumps = releaseDryRun();
    expect(bumps.get('storage')).toBe('0.2.0');
    expect(bumps.get('registry')).toMatch(/^0\.1\.\d$/);
    expect(bumps.has('leader-election')).toBe(false);
  }, 120_000);
});
