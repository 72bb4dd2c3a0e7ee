import { openModel } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../../../core/src/testing/shared.ts";
import { inspectionPrompt, inspectionPrompts, tokenizePrompt } from "./prompts.ts";
import { decodeSweepSpec } from "./spec.ts";
import { attributeExamples, entityExamples } from "./stories.ts";
import { patchscopeSweep, type SweepResult } from "./sweep.ts";

warnIfNoSharedModels("patchscopes/stories.test.ts: the patchscope experiments on stories260K");

const show = (name: string, r: SweepResult) => {
  console.log(
    `${name} (${r.sources} sources, prompt ${r.prompt}; model's own precision@1 ${r.modelPrecisionAt1.toFixed(3)})`,
  );
  for (const l of r.layers)
    console.log(
      `  ${l.sourceSite.padEnd(20)} → ${l.targetSite.padEnd(20)} p@1 ${l.precisionAt1.toFixed(3)}  surprisal ${l.meanSurprisal.toFixed(3)}  agreement ${l.agreement.toFixed(3)}  ${l.top
        .slice(0, 6)
        .map((t) => JSON.stringify(t.token))
        .join(" ")}`,
    );
};

describe.skipIf(!hasSharedModels)("patchscopes on stories260K", () => {
  it("token identity and attribute experiments across source layers", async () => {
    const out = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const m = yield* openModel(sharedModelPath("stories260K", "stories260K.bin"), { threads: 1 });
          const tok = m.tokenizer!;
          const prompts = inspectionPrompts.map((p) => ({ name: p.name, ...tokenizePrompt(tok, p) }));
          const attr = attributeExamples(tok);
          const ent = entityExamples(tok);
          const run = (prompt: string, sources: typeof attr, extra: object = {}) =>
            Effect.flatMap(decodeSweepSpec({ prompt, ...extra }), (s) =>
              patchscopeSweep(m.sessions, m, s, { sources }),
            );
          return {
            tok,
            prompts,
            attrId: yield* run("token-identity", attr),
            entId: yield* run("token-identity", ent),
            entArrow: yield* run("token-identity-arrow", ent, { generate: 4 }),
            entArrowL0: yield* run("token-identity-arrow", ent, {
              sites: ["blocks.0.resid_pre", "blocks.0.resid_post", "blocks.1.resid_post"],
              targetSite: "blocks.0.resid_pre",
            }),
            attrColor: yield* run("attribute-color", ent),
          };
        }),
      ),
    );
    const q = inspectionPrompt("token-identity");
    const ti = out.prompts.find((p) => p.name === q.name)!;
    expect(out.tok.idToToken(ti.ids[ti.position]!)).toBe("?");
    show("attribute (next-token) sources, token identity", out.attrId);
    show("entity sources, token identity", out.entId);
    show("entity sources, token identity with arrow", out.entArrow);
    show("entity sources, arrow prompt, into layer 0", out.entArrowL0);
    show("entity sources, attribute-color", out.attrColor);
    console.log(out.entArrow.layers[0]!.top.map((t) => JSON.stringify(t.text)).join(" "));
    // structural: the last resid_post patched at the target's last token gives the source's own
    // final distribution, so agreement is 1 and precision@1 is the model's own
    for (const r of [out.attrId, out.entId]) {
      const last = r.layers.at(-1)!;
      expect(last.agreement).toBe(1);
      expect(last.precisionAt1).toBe(r.modelPrecisionAt1);
    }
    // measured (see the report): next-token decoding improves with depth on the attribute sources
    const first = out.attrId.layers[0]!;
    const last = out.attrId.layers.at(-1)!;
    expect(last.meanSurprisal).toBeLessThan(first.meanSurprisal);
    expect(last.agreement).toBeGreaterThan(first.agreement);
    for (const r of [out.attrId, out.entId, out.entArrow, out.entArrowL0, out.attrColor])
      for (const l of r.layers) expect(Number.isFinite(l.meanSurprisal)).toBe(true);
  });
});
