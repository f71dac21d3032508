// Writes each Jest run's totals to $KUIK_TEST_RESULTS_DIR/<project>.json so that tools/test.sh can
// print one closing line for the whole workspace ("N passed, N failed") after Nx ran every project.
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  constructor(globalConfig, options) {
    this.name = (options && options.project) || path.basename(globalConfig.rootDir);
  }
  onRunComplete(_contexts, results) {
    const dir = process.env.KUIK_TEST_RESULTS_DIR;
    if (!dir) return;
    fs.mkdirSync(dir, { recursive: true });
    const failedSuites = results.testResults
      .filter((r) => r.failureMessage || r.testExecError)
      .map((r) => path.relative(process.cwd(), r.testFilePath));
    const summary = {
      project: this.name,
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
      total: results.numTotalTests,
      failedSuites,
    };
    fs.writeFileSync(path.join(dir, `${this.name}.json`), JSON.stringify(summary, null, 2));
  }
}
module.exports = SummaryReporter;
