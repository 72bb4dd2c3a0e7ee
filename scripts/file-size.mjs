// `pnpm filesize`: no source file (TypeScript or script, tests included) over 400 lines, so that a
// file holds one idea. Lists every offender with its length; exit 1 if there is one.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const LIMIT = 400;
const files = execFileSync(
  "git",
  ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts", "*.mjs", "*.cjs"],
  {
    encoding: "utf8",
  },
)
  .split("\n")
  .filter((f) => f !== "" && !f.includes("node_modules/"));
const over = [];
for (const f of files) {
  let text;
  try {
    text = readFileSync(f, "utf8");
  } catch {
    continue; // listed by git but deleted in the working tree
  }
  const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  if (lines > LIMIT) over.push(`${f}: ${lines} lines`);
}
if (over.length > 0) {
  console.error(`files over ${LIMIT} lines (split them by idea):\n  ${over.join("\n  ")}`);
  process.exit(1);
}
console.log(`file size: ${files.length} files, none over ${LIMIT} lines`);
