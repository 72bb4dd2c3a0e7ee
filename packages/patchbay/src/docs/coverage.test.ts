import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * Every public function of a completed package has a JSDoc `@example` (issue 15 §5), counted by
 * scripts/jsdoc-examples.mjs over each package's root entry (namespaces included); the examples
 * themselves run in examples.test.ts. A package joins COMPLETE when its last function gets one.
 */
const COMPLETE = [
  "@patchbay/core",
  "@patchbay/circuits",
  "@patchbay/causal",
  "@patchbay/zoo",
  "@patchbay/readouts",
  "patchbay",
];

type Coverage = Record<string, Record<string, { with: string[]; without: string[] }>>;

describe("JSDoc @example coverage", () => {
  const script = fileURLToPath(new URL("../../../../scripts/jsdoc-examples.mjs", import.meta.url));
  let coverage: Coverage | undefined;
  const load = (): Coverage => {
    coverage ??= JSON.parse(execFileSync(process.execPath, [script, "--json"], { encoding: "utf8" }));
    return coverage!;
  };

  it("counts every package, core's public functions among them", () => {
    expect(Object.keys(load()).sort()).toEqual([
      "@patchbay/causal",
      "@patchbay/circuits",
      "@patchbay/core",
      "@patchbay/experiments",
      "@patchbay/readouts",
      "@patchbay/zoo",
      "patchbay",
    ]);
    expect(load()["@patchbay/core"]?.Engine?.with).toContain("runPlan");
  }, 60_000);

  it.each(COMPLETE)(
    "%s: no public function without an @example",
    (pkg) => {
      const groups = load()[pkg]!;
      const all = Object.values(groups).flatMap((g) => [...g.with, ...g.without]);
      expect(all.length).toBeGreaterThan(0);
      const missing = Object.entries(groups).flatMap(([g, c]) => c.without.map((f) => `${g}.${f}`));
      expect(missing).toEqual([]);
    },
    60_000,
  );
});
