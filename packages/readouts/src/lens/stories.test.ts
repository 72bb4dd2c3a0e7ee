import { makeSessionCache, openModel } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../../../core/src/testing/shared.ts";
import { evaluateLens } from "./evaluate.ts";
import { decodeLensEvalSpec, decodeTunedLensTrainSpec } from "./spec.ts";
import { storyTexts } from "./stories.ts";
import { trainTunedLens } from "./train.ts";

warnIfNoSharedModels("lens/stories.test.ts: the logit and tuned lens on stories260K");

describe.skipIf(!hasSharedModels)("logit and tuned lens on stories260K", () => {
  it("the tuned lens beats the logit lens on held-out stories at every layer but the last, where KL ≈ 0", async () => {
    const r = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const m = yield* openModel(sharedModelPath("stories260K", "stories260K.bin"), { threads: 1 });
          const tok = m.tokenizer!;
          const train = storyTexts.train.map((t) => tok.encode(t));
          const test = storyTexts.heldOut.map((t) => tok.encode(t));
          const cache = yield* makeSessionCache("stories-lens", { threads: 1 });
          const spec = yield* decodeTunedLensTrainSpec({ steps: 40, lr: 1e-2, batchSize: 6, seed: 1 });
          const t0 = Date.now();
          const fit = yield* trainTunedLens(cache, m, spec, { prompts: train });
          const ms = Date.now() - t0;
          const report = yield* evaluateLens(
            cache,
            m,
            yield* decodeLensEvalSpec({}),
            { prompts: test },
            fit.lens,
          );
          return { fit, report, ms };
        }),
      ),
    );
    const { report } = r;
    const tuned = report.kl.tuned!;
    console.log(`stories260K tuned lens: 40 steps in ${r.ms} ms`);
    report.sites.forEach((s, i) => {
      console.log(
        `  ${s.padEnd(20)} logit KL ${report.kl.logit[i]!.toFixed(4)}  tuned KL ${tuned[i]!.toFixed(4)}`,
      );
    });
    const row = (site: string, lens: "logit" | "tuned") =>
      report.table.rows
        .find((x) => x.site === site && x.lens === lens)!
        .cells.slice(0, 12)
        .map((c) => JSON.stringify(c.top[0]!.token))
        .join("|");
    console.log(
      `  tokens: ${report.table.tokens
        .slice(0, 12)
        .map((t) => JSON.stringify(t.token))
        .join("|")}`,
    );
    for (const s of report.sites)
      console.log(`  ${s.padEnd(20)} logit ${row(s, "logit")}\n  ${"".padEnd(20)} tuned ${row(s, "tuned")}`);
    for (let i = 0; i < report.sites.length - 1; i++) expect(tuned[i]!).toBeLessThan(report.kl.logit[i]!);
    expect(report.kl.logit.at(-1)!).toBeLessThan(1e-6);
    // training loss went down for every layer
    const first = r.fit.curve[0]!.kl;
    const last = r.fit.curve.at(-1)!.kl;
    first.forEach((k, i) => {
      expect(last[i]!).toBeLessThan(k);
    });
    // tokens are named by the tokenizer
    expect(report.table.tokens[1]!.token).toBe(" Once");
  });
});
