import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The read-only folder beside the repository, `<repo>/../shared` (the project machines and CI have
 * it; a clone alone does not). Its trained checkpoints in `models/` (stories260K, the GPT-2
 * tokenizer, tl-induction-2L, tl-sorted-list) are never copied into the repository: the owners'
 * rule and their licences (testdata/README.md). Tests and benchmarks read them with
 * `sharedModelPath(...)`; a test that needs one is `describe.skipIf(!hasSharedModels)` (or
 * `it.skipIf`) and calls `warnIfNoSharedModels` naming itself, so a clone without the folder says
 * loudly what it skipped. The tiny random-weight fixtures are in the repository (testdata.ts).
 */
const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

export const sharedDir: string = join(repoRoot, "..", "shared");
export const sharedModelsDir: string = join(sharedDir, "models");
export const hasSharedModels: boolean = existsSync(sharedModelsDir);
export const sharedModelPath = (...parts: string[]): string => join(sharedModelsDir, ...parts);

/** Where ../shared/models is absent, print a loud warning naming what is skipped (a test file or suite). */
export const warnIfNoSharedModels = (what: string): void => {
  if (!hasSharedModels)
    console.warn(
      `\n⚠️  SKIPPED: ${what} — it needs the trained checkpoints in ${sharedModelsDir} (../shared/models beside the repository), which is absent.\n`,
    );
};
