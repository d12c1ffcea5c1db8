// Prints the plain "N passed, N failed" line CI reads, from Jest's JSON
// reports, and exits non-zero when anything failed (or the run never reported:
// e.g. the typecheck failed before Jest started).
import fs from 'node:fs';

// Pairs of (report file, exit status): `npm test`, then the Node 24 journeys.
const args = process.argv.slice(2);
let passed = 0;
let failed = 0;
for (let i = 0; i < args.length; i += 2) {
  const status = Number(args[i + 1] ?? '1');
  let runFailed;
  try {
    const report = JSON.parse(fs.readFileSync(args[i], 'utf8'));
    passed += report.numPassedTests;
    runFailed = report.numFailedTests + (report.numRuntimeErrorTestSuites ?? 0);
  } catch {
    runFailed = 1;
  }
  if (status !== 0 && runFailed === 0) runFailed = 1;
  failed += runFailed;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
