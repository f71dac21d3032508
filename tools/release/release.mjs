#!/usr/bin/env node
// The release, as one command (what .github/workflows/release.yml runs):
//   node tools/release/release.mjs [--dry-run]
// 1. nx release version: conventional commits → independent bumps (dependents included)
// 2. sync the Helm charts' versions, appVersions and image tags with the new app versions
// 3. nx release changelog: CHANGELOG.md per project, commit, tags <project>@<version>
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { releaseChangelog, releaseVersion } from 'nx/release/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dryRun = process.argv.includes('--dry-run');
const verbose = process.argv.includes('--verbose');

const { workspaceVersion, projectsVersionData, releaseGraph } = await releaseVersion({ dryRun, verbose, gitCommit: false, gitTag: false });
const moved = Object.entries(projectsVersionData).filter(([, d]) => d.newVersion);
console.log(`projects to release: ${moved.map(([p, d]) => `${p}@${d.newVersion}`).join(', ') || 'none'}`);
if (!dryRun) {
  execFileSync(process.execPath, [path.join(root, 'tools/release/sync-chart.mjs')], { stdio: 'inherit' });
  execFileSync('git', ['add', 'charts'], { cwd: root, stdio: 'inherit' });
}
await releaseChangelog({ versionData: projectsVersionData, version: workspaceVersion, releaseGraph, dryRun, verbose });
process.exit(0);
