import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** scripts/namespace-imports.mjs: imports from the root of @patchbay/core → the subpath that exports each name. */
const script = fileURLToPath(new URL("../../../scripts/namespace-imports.mjs", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: "utf8" });

const rewriteOf = (source: string): { text: string; again: string } => {
  const file = join(mkdtempSync(join(tmpdir(), "ns-imports-")), "m.ts");
  writeFileSync(file, source);
  execFileSync(process.execPath, [script, file]);
  const text = readFileSync(file, "utf8");
  execFileSync(process.execPath, [script, file]);
  return { text, again: readFileSync(file, "utf8") };
};

describe("namespace-imports", () => {
  it("maps each name to its subpath, keeps namespaces on the root and type-ness as written, and is idempotent", () => {
    const { text, again } = rewriteOf(
      [
        'import { plan } from "@patchbay/core/engine";',
        'import { Engine, runPlan, type Model, InputError } from "@patchbay/core";',
        'import type { Weights, Tokenizer } from "@patchbay/core";',
        'export { openModel } from "@patchbay/core";',
        "",
      ].join("\n"),
    );
    expect(text).toBe(
      [
        'import { plan, runPlan } from "@patchbay/core/engine";',
        'import { Engine } from "@patchbay/core";',
        'import type { Model, Weights } from "@patchbay/core/model";', // one import per subpath and type-ness
        'import { InputError } from "@patchbay/core/errors";',
        'import type { Tokenizer } from "@patchbay/core/tokenizer";',
        'export { openModel } from "@patchbay/core/runtime";',
        "",
      ].join("\n"),
    );
    expect(again).toBe(text);
  });

  it("fails loudly, naming the file and line, on a name no subpath exports", () => {
    const file = join(mkdtempSync(join(tmpdir(), "ns-imports-")), "bad.ts");
    writeFileSync(file, 'import { x } from "a";\nimport { notAThing } from "@patchbay/core";\n');
    const r = run(file);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.ts:2: notAThing is exported by no subpath of @patchbay\/core/);
    expect(readFileSync(file, "utf8")).toContain('"@patchbay/core"'); // untouched
  });

  it("the repository has nothing left to rewrite", () => {
    const r = run("--check");
    expect(r.stdout).toContain("would rewrite 0 file(s)");
    expect(r.status).toBe(0);
  }, 60_000);
});
