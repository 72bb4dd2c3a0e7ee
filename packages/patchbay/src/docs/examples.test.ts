import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { repoExamples } from "./examples.ts";
import { allowedImport, importsOf, namedImportsOf } from "./extract.ts";

/**
 * Every example of the documentation runs: README.md's ```ts blocks and each JSDoc `@example`
 * block in packages/*\/src and experiments/src, as an ES module (top-level await allowed) imported
 * in-process, from a file under the repository (.cache/doc-examples, gitignored) so that
 * "patchbay", "@patchbay/<pkg>" and "effect" resolve as a user's project resolves them (root
 * devDependencies). Relative paths in examples are relative to the repository root. A block marked
 * ```ts no-run is reported as skipped, never silently dropped.
 */
const repo = fileURLToPath(new URL("../../../../", import.meta.url));
const outDir = join(repo, ".cache", "doc-examples");
const examples = repoExamples(repo);
const SECONDS = 20; // each example must finish in a few seconds; this is the hard ceiling

describe("documentation examples run", () => {
  beforeAll(() => {
    process.chdir(repo);
    mkdirSync(outDir, { recursive: true });
    const noRun = examples.filter((e) => e.noRun);
    console.log(
      `doc examples: ${examples.length} ts blocks, ${examples.length - noRun.length} run, ${noRun.length} marked no-run` +
        (noRun.length > 0 ? ` (${noRun.map((e) => `${e.file}:${e.line}`).join(", ")})` : ""),
    );
  });

  it("README has examples, and the Promise API's JSDoc has its own", () => {
    expect(examples.some((e) => e.file === "README.md" && !e.noRun)).toBe(true);
    expect(examples.some((e) => e.file.startsWith("packages/patchbay/src/api/") && !e.noRun)).toBe(true);
  });

  for (const ex of examples) {
    const name = `${ex.file}:${ex.line}`;
    if (ex.noRun) {
      it.skip(`${name} (no-run)`, () => {});
      continue;
    }
    it(
      name,
      async () => {
        const bad = importsOf(ex.code).filter((s) => !allowedImport(s));
        expect(bad, `${name} imports what a user cannot: ${bad.join(", ")}`).toEqual([]);
        for (const { spec, names } of namedImportsOf(ex.code)) {
          const mod = (await import(/* @vite-ignore */ spec)) as Record<string, unknown>;
          const missing = names.filter((n) => !(n in mod));
          expect(missing, `${name} imports names "${spec}" does not export`).toEqual([]);
        }
        const hash = createHash("sha256").update(`${name}\n${ex.code}`).digest("hex").slice(0, 12);
        const file = join(outDir, `${ex.file.replace(/[^A-Za-z0-9]+/g, "_")}_L${ex.line}_${hash}.ts`);
        writeFileSync(file, `${ex.code}\nexport {};\n`);
        try {
          await import(/* @vite-ignore */ pathToFileURL(file).href);
        } catch (e) {
          // wrap, never edit: some errors' message is a getter (Data.TaggedError, ParseError)
          const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
          throw new Error(`${name}: ${what}`, { cause: e });
        }
      },
      SECONDS * 1000,
    );
  }
});
