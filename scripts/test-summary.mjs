// Prints vitest's totals as one plain line ("tests: N passed, N failed, N skipped") for CI logs.
import { readFileSync } from 'node:fs';
const file = process.argv[2] ?? '.tmp/vitest.json';
const r = JSON.parse(readFileSync(file, 'utf8'));
console.log(
  `tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`,
);
