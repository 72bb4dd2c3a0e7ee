import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as Core from "./index.ts";

/**
 * The public API is one namespace per concept (ARCHITECTURE.md, "Public API"): the root exports
 * only the namespaces, and each namespace is also a subpath module of the package's exports map.
 */
const NAMESPACES = [
  "Autodiff",
  "Edges",
  "Engine",
  "Errors",
  "Graph",
  "Hub",
  "Model",
  "Optim",
  "Patching",
  "Reference",
  "Runtime",
  "Sites",
  "Tensor",
  "Text",
  "Tokenizer",
  "Transformer",
  "Weights",
];

const { "./package.json": manifest, ...exportsMap }: Record<string, string> = JSON.parse(
  readFileSync(new URL("../package.json", import.meta.url), "utf8"),
).exports;

/** `Engine` → "./engine", `SomeThing` → "./some-thing". */
const subpathOf = (namespace: string): string =>
  `./${namespace.replace(/(?<=[a-z0-9])([A-Z])/g, "-$1").toLowerCase()}`;

describe("@patchbay/core public API", () => {
  it("the root exports exactly the namespaces, nothing flat", () => {
    expect(Object.keys(Core).sort()).toEqual(NAMESPACES);
  });

  it("every namespace is a subpath of the exports map, and every subpath but the CLI is a namespace", () => {
    const subpaths = Object.keys(exportsMap).filter((k) => k !== "." && k !== "./cli" && k !== "./cli/table");
    expect(subpaths.sort()).toEqual(NAMESPACES.map(subpathOf).sort());
    expect(exportsMap["."]).toBe("./src/index.ts");
    expect(exportsMap["./cli"]).toBe("./src/cli/index.ts");
    expect(exportsMap["./cli/table"]).toBe("./src/cli/table.ts"); // the CLI's light command table
    // and the manifest itself (the results' patchbay version is read through module resolution)
    expect(manifest).toBe("./package.json");
  });

  it.each(NAMESPACES)(
    "@patchbay/core/<subpath> of %s is the same module as the root namespace",
    async (ns) => {
      const specifier = `@patchbay/core/${subpathOf(ns).slice(2)}`;
      const sub: Record<string, unknown> = await import(/* @vite-ignore */ specifier);
      const root = (Core as Record<string, Record<string, unknown>>)[ns]!;
      expect(Object.keys(sub).sort()).toEqual(Object.keys(root).sort());
      expect(Object.keys(root).length).toBeGreaterThan(0);
      for (const k of Object.keys(root)) expect(sub[k], `${ns}.${k}`).toBe(root[k]);
      expect(sub).toBe(root); // one module instance: the namespace object itself
    },
  );

  it("the exports map exposes neither internal/ nor testing/, and no pattern that could reach them", () => {
    for (const [key, target] of Object.entries(exportsMap)) {
      expect(key).not.toContain("*");
      expect(target).not.toContain("*");
      expect(target).toMatch(/^\.\/src\/(([a-z-]+\/)?index|cli\/table)\.ts$/);
      expect(target).not.toMatch(/\/(internal|testing)\//);
    }
  });

  it("every public function of every namespace has a JSDoc @example with a ts block", () => {
    const script = fileURLToPath(new URL("../../../scripts/jsdoc-examples.mjs", import.meta.url));
    const coverage: Record<string, { with: string[]; without: string[] }> = JSON.parse(
      execFileSync(process.execPath, [script, "--json"], { encoding: "utf8" }),
    )["@patchbay/core"];
    expect(Object.keys(coverage).sort()).toEqual(NAMESPACES);
    const missing = Object.entries(coverage).flatMap(([ns, c]) => c.without.map((f) => `${ns}.${f}`));
    expect(missing).toEqual([]);
    // the count covers the functions themselves: Engine's include runPlan, Runtime's openModel
    expect(coverage.Engine?.with).toContain("runPlan");
    expect(coverage.Runtime?.with).toContain("openModel");
  }, 60_000);
});
