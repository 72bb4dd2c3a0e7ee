import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The tiny random-weight Hugging Face fixtures the tests run on live in the repository, in
 * `<repo>/testdata/fixtures/<name>`: byte-identical copies of `../shared/fixtures/<name>`. Their
 * origin and sha256 are in testdata/README.md; testdata.test.ts checks the hashes. The trained
 * checkpoints are not here: they are read from ../shared/models (shared.ts).
 */
const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

export const testdataDir: string = join(repoRoot, "testdata");
export const testdataPath = (...parts: string[]): string => join(testdataDir, ...parts);

/**
 * Fixtures in testdata of families patchbay does not load yet (none today). Tests that sweep every
 * fixture leave them out of the logits checks and assert instead that loading them is a typed
 * UnsupportedError (runtime/checkpoints.test.ts); when a family lands, that assertion fails and its
 * name leaves this list.
 */
export const UNSUPPORTED_FIXTURES: ReadonlySet<string> = new Set<string>([]);

/** The folders of testdata's tiny fixtures that load (every `tiny-*` but UNSUPPORTED_FIXTURES), by name. */
export const loadableFixtures = (): string[] =>
  readdirSync(testdataPath("fixtures"))
    .filter((n) => n.startsWith("tiny-") && !UNSUPPORTED_FIXTURES.has(n))
    .sort();
