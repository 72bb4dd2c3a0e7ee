// Runs the whole vitest suite and ends with the plain summary line CI reads:
// "tests: N passed, N failed, N skipped". Exit code is vitest's. Above it, one line per test file
// that skipped anything, so a skip (no Chromium, no redis-server) is visible at the end of the
// output and not only in the warning its file printed at the start.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

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
  for (const file of j.testResults ?? []) {
    const n = (file.assertionResults ?? []).filter(
      (t) => t.status === "pending" || t.status === "todo" || t.status === "skipped",
    ).length;
    if (n > 0)
      console.log(`skipped ${n} in ${relative(process.cwd(), file.name)} (its warning above says why)`);
  }
  if (j.numTotalTests === 0) summary = "tests: 0 passed, 1 failed (no test ran)";
} catch {}
rmSync(dir, { recursive: true, force: true });
console.log(summary);
process.exit(r.status ?? 1);
