// Runs the whole vitest suite and ends with the plain summary line CI reads:
// "tests: N passed, N failed, N skipped". Exit code is vitest's.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "patchbay-vitest-"));
const out = join(dir, "results.json");
const args = [
  "vitest",
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${out}`,
  ...process.argv.slice(2),
];
const r = spawnSync("npx", args, { stdio: "inherit" });
let summary = "tests: 0 passed, 1 failed (vitest wrote no results)";
try {
  const j = JSON.parse(readFileSync(out, "utf8"));
  const skipped = j.numPendingTests + j.numTodoTests;
  summary = `tests: ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${skipped} skipped`;
  if (j.numTotalTests === 0) summary = "tests: 0 passed, 1 failed (no test ran)";
} catch {}
rmSync(dir, { recursive: true, force: true });
console.log(summary);
process.exit(r.status ?? 1);
