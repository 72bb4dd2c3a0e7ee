import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allowedImport, importsOf, jsdocExamples, markdownExamples, namedImportsOf } from "./extract.ts";

describe("doc examples: extraction", () => {
  it("Markdown: ts and typescript blocks with their fence's line, no-run kept and marked, other languages skipped", () => {
    const md = [
      "# t", //                1
      "```ts", //              2
      "const a = 1;", //       3
      "```", //                4
      "```sh", //              5
      "pnpm x", //             6
      "```", //                7
      "  ```ts no-run", //     8
      "  yield* x;", //        9
      "    nested;", //        10
      "  ```", //              11
      "```typescript", //      12
      "b();", //               13
      "```", //                14
    ].join("\n");
    expect(markdownExamples("R.md", md)).toEqual([
      { file: "R.md", line: 2, code: "const a = 1;", noRun: false },
      { file: "R.md", line: 8, code: "yield* x;\n  nested;", noRun: true },
      { file: "R.md", line: 12, code: "b();", noRun: false },
    ]);
  });

  it("Markdown: an unclosed ts block is an error naming its line", () => {
    expect(() => markdownExamples("R.md", "x\n```ts\nfoo")).toThrow("R.md:2");
  });

  it("JSDoc: only the ts blocks of @example sections, with file lines and the comment stars removed", () => {
    const src = [
      "/**", //                             1
      " * Prose with a block:", //          2
      " * ```ts", //                        3
      " * notAnExample();", //              4
      " * ```", //                          5
      " * @param x the x", //               6
      " * @example", //                     7
      " * ```ts", //                        8
      ' * import { open } from "patchbay";', // 9
      " *   indented();", //                10
      " * ```", //                          11
      " * @returns nothing", //             12
      " */", //                             13
      "export const f = () => {};", //      14
      "/** @example", //                    15
      " * ```ts no-run", //                 16
      " * g();", //                         17
      " * ```", //                          18
      " */", //                             19
      "// ```ts not in a comment", //       20
    ].join("\n");
    expect(jsdocExamples("f.ts", src)).toEqual([
      { file: "f.ts", line: 8, code: 'import { open } from "patchbay";\n  indented();', noRun: false },
      { file: "f.ts", line: 16, code: "g();", noRun: true },
    ]);
  });

  it("JSDoc: code lines that look like tags inside a fence stay in the example", () => {
    const src = ["/**", " * @example", " * ```ts", " * @decorator", " * x();", " * ```", " */"].join("\n");
    expect(jsdocExamples("f.ts", src)).toEqual([
      { file: "f.ts", line: 3, code: "@decorator\nx();", noRun: false },
    ]);
  });

  it("every block's code comes back exactly, whatever lines it holds (property)", () => {
    const line = fc
      .string({ unit: fc.constantFrom("a", " ", "(", ";", "'", "*", "/", "@", "x") })
      .filter((l) => !l.trim().startsWith("```") && !l.includes("*/"));
    fc.assert(
      fc.property(fc.array(fc.array(line, { minLength: 1, maxLength: 5 }), { maxLength: 4 }), (blocks) => {
        const md = blocks.map((b) => ["text", "```ts", ...b, "```"].join("\n")).join("\n");
        const got = markdownExamples("R.md", md);
        expect(got.map((e) => e.code)).toEqual(blocks.map((b) => b.join("\n")));
        const doc = `/**\n * @example\n${blocks.map((b) => [" * ```ts", ...b.map((l) => ` * ${l}`), " * ```"].join("\n")).join("\n")}\n */`;
        expect(jsdocExamples("f.ts", doc).map((e) => e.code)).toEqual(blocks.map((b) => b.join("\n")));
      }),
    );
  });

  it("imports: static, side-effect, re-export and dynamic; only public entry points, effect and node: allowed", () => {
    const code = [
      'import assert from "node:assert/strict";',
      'import * as patchbay from "patchbay";',
      'import { Effect } from "effect";',
      'import "@patchbay/zoo";',
      'export { plan } from "@patchbay/core/engine";',
      'const m = await import("../src/x.ts");',
      "import {",
      "  a,",
      '} from "@patchbay/circuits";',
    ].join("\n");
    const specs = importsOf(code);
    expect(specs.sort()).toEqual(
      [
        "node:assert/strict",
        "patchbay",
        "effect",
        "@patchbay/zoo",
        "@patchbay/core/engine",
        "../src/x.ts",
        "@patchbay/circuits",
      ].sort(),
    );
    expect(specs.filter((s) => !allowedImport(s))).toEqual(["../src/x.ts"]);
    expect(allowedImport("@patchbay/core/src/index.ts")).toBe(false);
    expect(allowedImport("onnxruntime-node")).toBe(false);
  });

  it("named imports: per module, aliases by their exported name, type-only names and imports left out", () => {
    const code = [
      'import { open, type PatchbayModel, circuits as c } from "patchbay";',
      'import type { Plan } from "@patchbay/core";',
      'import def, { Effect } from "effect";',
      "import {",
      "  forward,",
      "  openModel,",
      '} from "@patchbay/core";',
    ].join("\n");
    expect(namedImportsOf(code)).toEqual([
      { spec: "patchbay", names: ["open", "circuits"] },
      { spec: "effect", names: ["Effect"] },
      { spec: "@patchbay/core", names: ["forward", "openModel"] },
    ]);
  });
});
