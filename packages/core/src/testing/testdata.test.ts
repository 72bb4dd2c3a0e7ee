import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { sharedDir } from "./shared.ts";
import { testdataPath, UNSUPPORTED_FIXTURES } from "./testdata.ts";

/**
 * testdata/ holds byte-identical copies of the tiny fixtures in ../shared/fixtures, and nothing
 * else (the trained checkpoints in ../shared/models are never copied). Every file's size and
 * sha256 match its row in testdata/README.md (always), and the file at the same path in ../shared
 * where ../shared/fixtures is present: the one comparison a clone without ../shared cannot make.
 */

const sha256 = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex");

/** Every file under testdata/ but its README, as paths relative to testdata/, sorted. */
const files = (dir = ""): string[] =>
  readdirSync(testdataPath(dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
    .filter((f) => f !== "README.md")
    .sort();

interface Row {
  readonly bytes: number;
  readonly sha256: string;
}
/** The README's table rows: | `path` | bytes | `sha256` | */
const ROW = /^\| `([^`]+)` \| (\d+) \| `([0-9a-f]{64})` \|$/;
const rows: [string, Row][] = readFileSync(testdataPath("README.md"), "utf8")
  .split("\n")
  .flatMap((line) => {
    const m = ROW.exec(line);
    return m === null ? [] : [[m[1]!, { bytes: Number(m[2]), sha256: m[3]! }] as [string, Row]];
  });
const table = new Map(rows);

const sharedFixtures = join(sharedDir, "fixtures");
const hasSharedFixtures = existsSync(sharedFixtures);
if (!hasSharedFixtures)
  console.warn(
    `\n⚠️  SKIPPED: testing/testdata.test.ts, the comparison of testdata/fixtures with ${sharedFixtures}, which is absent (the README hashes are still checked).\n`,
  );

describe("testdata: byte-identical copies, hashes in testdata/README.md", () => {
  const present = files();

  it("the README's table lists every file in testdata once, and no other", () => {
    expect(rows.length).toBe(table.size);
    expect([...table.keys()].sort()).toEqual(present);
    expect(present.length).toBeGreaterThanOrEqual(18);
  });

  it("holds fixtures only: no trained checkpoint from ../shared/models is copied in", () => {
    for (const f of present) expect(f.startsWith(`fixtures${sep}`), f).toBe(true);
    expect(existsSync(testdataPath("models"))).toBe(false);
  });

  it("every file has the size and sha256 of its README row", () => {
    for (const f of present) {
      const row = table.get(f);
      expect(row, f).toBeDefined();
      expect(statSync(testdataPath(f)).size, f).toBe(row!.bytes);
      expect(sha256(testdataPath(f)), f).toBe(row!.sha256);
    }
  });

  it("holds every fixture of the families patchbay does not load yet", () => {
    for (const name of UNSUPPORTED_FIXTURES)
      for (const f of ["config.json", "expected.json", "model.safetensors"])
        expect(table.has(join("fixtures", name, f)), `${name}/${f}`).toBe(true);
  });

  it.skipIf(!hasSharedFixtures)(
    "every file is byte-identical to the same path in ../shared (needs ../shared/fixtures)",
    () => {
      for (const f of present) expect(sha256(join(sharedDir, f)), f).toBe(table.get(f)!.sha256);
    },
  );
});
