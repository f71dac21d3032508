// Prints the workspace-wide closing line from the per-project files the summary reporter wrote.
// Exit code 1 when any test failed or no test ran at all.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
const rows = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8'))) : [];
rows.sort((a, b) => a.project.localeCompare(b.project));
let passed = 0, failed = 0, skipped = 0;
console.log('\nTest results by project:');
for (const r of rows) {
  passed += r.passed; failed += r.failed; skipped += r.skipped;
  console.log(`  ${r.project.padEnd(18)} ${String(r.passed).padStart(5)} passed ${String(r.failed).padStart(4)} failed${r.skipped ? ` ${r.skipped} skipped` : ''}`);
  for (const s of r.failedSuites) console.log(`      failing: ${s}`);
}
const failures = rows.flatMap((r) => (r.failures ?? []).map((f) => ({ project: r.project, ...f })));
if (failures.length > 0) {
  console.log('\nFailed tests (the first lines of each error; the full output is above):');
  for (const f of failures) {
    console.log(`\n  ${f.project} ${f.file} › ${f.test}${f.duration != null ? ` (${f.duration} ms)` : ''}`);
    for (const l of f.lines) console.log(`      ${l}`);
  }
}
console.log('');
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
