import { execFileSync } from "node:child_process";

/**
 * Headless Chromium for the report's browser tests (Debian package `chromium`, driven by
 * playwright-core): its path, or null when it is not installed (the tests are then skipped, with
 * a warning).
 */
export const findChromium = (): string | null => {
  for (const name of ["chromium", "chromium-browser"])
    try {
      const p = execFileSync("which", [name], { encoding: "utf8" }).trim();
      if (p !== "") return p;
    } catch {}
  return null;
};

/** Chromium's flags in a container (no user namespaces for its sandbox). */
export const CHROMIUM_ARGS = ["--no-sandbox"];
