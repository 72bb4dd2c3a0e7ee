import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * Every public function of every package has a JSDoc `@example` (issue 15 §5), counted by
 * scripts/jsdoc-examples.mjs over each package's root entry (namespaces included: core's `Engine`,
 * patchbay's `circuits` and `causal`); the examples themselves run in examples.test.ts.
 */
const PACKAGES = [
  "@patchbay/causal",
  "@patchbay/circuits",
  "@patchbay/core",
  "@patchbay/experiments",
  "@patchbay/readouts",
  "@patchbay/zoo",
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

  it("counts every package, with the functions themselves", () => {
    expect(Object.keys(load()).sort()).toEqual(PACKAGES);
    expect(load()["@patchbay/core"]?.Engine?.with).toContain("runPlan");
    expect(load()["@patchbay/circuits"]?.["."]?.with).toContain("eap");
    expect(load().patchbay?.circuits?.with).toContain("eap");
  }, 60_000);

  it.each(PACKAGES)(
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
