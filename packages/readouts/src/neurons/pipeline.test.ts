import { Effect, Schema } from "effect";
import { describe, expect, it } from "vitest";
import { makeSessionCache } from "@patchbay/core/runtime";
import { mulberry32 } from "@patchbay/core/model";
import { FRAC_BOS, FRAC_X, fracPrevsModel } from "@patchbay/zoo";
import { explainNeuron, explainSimulateScore } from "./pipeline.ts";
import { ruleBasedExplainer, ruleBasedSimulator } from "./rule-based.ts";
import { NeuronExplanationSpec, ScoreSpec } from "./spec.ts";

/**
 * The planted neuron: in the compiled frac_prevs model (zoo), neuron 0 of blocks.0.mlp.post is
 * is_x, exactly 1 on token "x" and 0 elsewhere. With the rule-based stand-in the pipeline must
 * explain it as "x" and score r = 1; a wrong explanation must score as two disjoint indicators
 * do: r = −√(pq / ((1 − p)(1 − q))), p and q the shares of the two tokens among scored tokens.
 */
const model = fracPrevsModel();
const NAMES = ["<bos>", "x", "a", "b", "c", "d"];
const u = mulberry32(5);
const prompts = Array.from({ length: 60 }, () => {
  const len = 4 + Math.floor(u() * 12);
  return [FRAC_BOS, ...Array.from({ length: len }, () => 1 + Math.floor(u() * 5))];
});
const tokens = prompts.map((p) => p.map((id) => NAMES[id]!));
const spec = Schema.decodeUnknownSync(NeuronExplanationSpec)({
  records: { site: "blocks.0.mlp.hook_post", index: 0, topK: 20, randomK: 20, window: 8 },
  score: { explainTop: 5 },
});

const run = () =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const cache = yield* makeSessionCache(model.config.name);
        return yield* explainNeuron(
          cache,
          model,
          spec,
          { prompts, tokens },
          { explainer: ruleBasedExplainer(), simulator: ruleBasedSimulator() },
        );
      }),
    ),
  );

describe("explain → simulate → score on a planted neuron (rule-based stand-in)", () => {
  it("explains the is_x neuron as the token x and scores r ≈ 1; wrong explanations score as predicted", async () => {
    const { records, score } = await run();
    expect(FRAC_X).toBe(1);
    expect(records.meta.maxActivation).toBeCloseTo(1, 5);
    expect(score.explanation).toBe('the tokens "x"');
    expect(score.explainer).toBe("rule-based");
    expect(score.shown).toBe(5);
    expect(score.scoredTop).toBe(15);
    expect(score.scoredRandom).toBe(20);
    expect(score.score.pooled.value!).toBeCloseTo(1, 6);
    expect(score.score.top.value!).toBeCloseTo(1, 6);
    expect(score.score.random.value!).toBeCloseTo(1, 6);

    const scored = [...records.record.mostPositiveActivationRecords.slice(5), ...records.record.randomSample];
    const all = scored.flatMap((r) => [...r.tokens]);
    const p = all.filter((t) => t === "x").length / all.length;
    const q = all.filter((t) => t === "a").length / all.length;
    const wrong = await Effect.runPromise(
      explainSimulateScore(
        null,
        ruleBasedSimulator(),
        records.record,
        Schema.decodeUnknownSync(ScoreSpec)({ explainTop: 5, explanation: 'the tokens "a"' }),
      ),
    );
    expect(wrong.explainer).toBeNull();
    expect(wrong.score.pooled.value!).toBeCloseTo(-Math.sqrt((p * q) / ((1 - p) * (1 - q))), 6);
    expect(Math.abs(wrong.score.pooled.value!)).toBeLessThan(0.35);

    const nothing = await Effect.runPromise(
      explainSimulateScore(
        null,
        ruleBasedSimulator(),
        records.record,
        Schema.decodeUnknownSync(ScoreSpec)({ explanation: "nothing" }),
      ),
    );
    expect(nothing.score.pooled.value).toBeNull();
    expect(nothing.score.pooled.reason).toBe("constant simulation");
    console.log(
      `planted is_x neuron: right explanation r = ${score.score.pooled.value!.toFixed(6)}, wrong ("a") r = ${wrong.score.pooled.value!.toFixed(4)} (p = ${p.toFixed(3)}, q = ${q.toFixed(3)})`,
    );
  });

  it("a simulator answering the wrong number of values is a ModelResponseError", async () => {
    const { records } = await run();
    const e = await Effect.runPromise(
      Effect.flip(
        explainSimulateScore(
          null,
          { name: "short", simulate: () => Effect.succeed({ expected: [[1]], method: "rule" as const }) },
          records.record,
          Schema.decodeUnknownSync(ScoreSpec)({ explanation: "x" }),
        ),
      ),
    );
    expect((e as { _tag: string })._tag).toBe("ModelResponseError");
  });
});
