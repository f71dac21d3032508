// Writes each Jest run's totals to $KUIK_TEST_RESULTS_DIR/<project>.json so that tools/test.sh can
// print one closing line for the whole workspace ("N passed, N failed") after Nx ran every project,
// with the name and the first lines of the error of every failed test: CI logs are often read from
// their tail only, and a failure must be diagnosable from there.
const fs = require('node:fs');
const path = require('node:path');

const ANSI = /\u001b\[[0-9;]*m/g;
const MAX_LINES = 12;

function excerpt(message) {
  const lines = String(message).replace(ANSI, '').split('\n');
  // Keep the message and the first frames of the test's own code; drop node_modules frames.
  const kept = lines.filter((l) => l.trim() !== '' && !/node_modules|node:internal/.test(l));
  return kept.slice(0, MAX_LINES).map((l) => l.slice(0, 300));
}

class SummaryReporter {
  constructor(globalConfig, options) {
    this.name = (options && options.project) || path.basename(globalConfig.rootDir);
  }
  onRunComplete(_contexts, results) {
    const dir = process.env.KUIK_TEST_RESULTS_DIR;
    if (!dir) return;
    fs.mkdirSync(dir, { recursive: true });
    const failedSuites = [];
    const failures = [];
    for (const r of results.testResults) {
      if (!(r.failureMessage || r.testExecError)) continue;
      const file = path.relative(process.cwd(), r.testFilePath);
      failedSuites.push(file);
      const failedTests = r.testResults.filter((t) => t.status === 'failed');
      for (const t of failedTests) {
        failures.push({ file, test: t.fullName, duration: t.duration ?? null, lines: excerpt(t.failureMessages.join('\n')) });
      }
      // A suite that failed outside any test (an error in beforeAll/afterAll, or one that did not load).
      if (failedTests.length === 0) {
        const msg = r.testExecError ? r.testExecError.message + '\n' + (r.testExecError.stack ?? '') : r.failureMessage;
        failures.push({ file, test: '(suite)', duration: null, lines: excerpt(msg) });
      }
    }
    const summary = {
      project: this.name,
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
      total: results.numTotalTests,
      failedSuites,
      failures,
    };
    fs.writeFileSync(path.join(dir, `${this.name}.json`), JSON.stringify(summary, null, 2));
  }
}
module.exports = SummaryReporter;
