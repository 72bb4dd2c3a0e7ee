import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where the read-only real checkpoints live: `<repo>/../shared`. Tests that need them use
 * `describe.skipIf(!hasShared)` and warn loudly when the folder is absent.
 */
const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

export const sharedDir: string = join(repoRoot, "..", "shared");
export const hasShared: boolean = existsSync(sharedDir);
export const sharedPath = (...parts: string[]): string => join(sharedDir, ...parts);
