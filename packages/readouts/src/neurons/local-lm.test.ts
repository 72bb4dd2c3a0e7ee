import { Effect, Schema } from "effect";
import { describe, expect, it } from "vitest";
import { loadModelSync } from "@patchbay/core/weights";
import { makeSessionCache } from "@patchbay/core/runtime";
import { readLlama2cTokenizer } from "@patchbay/core/tokenizer";
import { referenceForward } from "@patchbay/core/reference";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../../../core/src/testing/shared.ts";
import {
  encodePrompt,
  expectedValue,
  type LocalLm,
  localExpectedValues,
  localExplainer,
  localSimulator,
  valueTokens,
} from "./local-lm.ts";
import { explainRequest, simulateRequest } from "./model.ts";
import { explainNeuron } from "./pipeline.ts";
import { LocalLmSpec, NeuronExplanationSpec } from "./spec.ts";
import { DIGIT_VOCAB, tinyModel, wordTokenizer } from "./test-support.ts";

const lmSpec = Schema.decodeUnknownSync(LocalLmSpec)({ maxTokens: 6 });
const withLm = <A, E>(
  model: LocalLm["model"],
  tokenizer: LocalLm["tokenizer"],
  f: (lm: LocalLm) => Effect.Effect<A, E>,
): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const cache = yield* makeSessionCache(model.config.name);
        return yield* f({ cache, model, tokenizer });
      }),
    ),
  );

const sequences = [
  ["the", " ", "cat", " ", "ran"],
  ["a", " ", "dog"],
  ["cat", ".", "cat"],
];

describe("local LM simulator on a zoo model with a digit vocabulary (random weights, always present)", () => {
  // A word-level vocabulary holding "0" … "10", TAB and newline: every value is one token.
  const model = tinyModel(DIGIT_VOCAB.length, 1024, 3);
  const tok = wordTokenizer(DIGIT_VOCAB);

  it("expected values lie in [0, 10], are deterministic, and match the float64 reference forward", async () => {
    expect(valueTokens(tok).map((v) => v.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const req = simulateRequest('the tokens "cat"', sequences);
    const a = await withLm(model, tok, (lm) => localExpectedValues(lm, req.prompts, lmSpec));
    const b = await withLm(model, tok, (lm) => localExpectedValues(lm, req.prompts, lmSpec));
    expect(a.expected).toEqual(b.expected);
    expect(a.expected.map((r) => r.length)).toEqual([5, 3, 3]);
    for (const row of a.expected) for (const x of row) expect(x >= 0 && x <= 10).toBe(true);
    // naive: softmax of the reference logits at each slot, E = Σ v p_v / Σ p_v
    const V = model.config.vocabSize;
    req.prompts.forEach((p, i) => {
      const { ids, slots } = encodePrompt(tok, p);
      expect(ids[slots[0]!]).toBe(DIGIT_VOCAB.indexOf("\t"));
      const ref = referenceForward(model.config, model.weights, [ids]).logits;
      slots.forEach((s, t) => {
        const row = ref.data.subarray(s * V, (s + 1) * V);
        let z = 0;
        for (const x of row) z += Math.exp(x);
        let num = 0;
        let den = 0;
        for (let v = 0; v <= 10; v++) {
          const pv = Math.exp(row[DIGIT_VOCAB.indexOf(String(v))]!) / z;
          num += v * pv;
          den += pv;
        }
        expect(a.expected[i]![t]!).toBeCloseTo(num / den, 4);
        expect(a.mass[i]![t]!).toBeCloseTo(den, 4);
      });
    });
    expect(
      expectedValue(
        [0, 0, 0],
        [
          { value: 0, id: 0 },
          { value: 10, id: 2 },
        ],
      ).value,
    ).toBeCloseTo(5, 12);
  });

  it("explainer (greedy generation) is deterministic and the pipeline runs end to end", async () => {
    const req = explainRequest([{ tokens: ["the", "cat"], activations: [0, 2] }], 2);
    const e1 = await withLm(model, tok, (lm) => localExplainer(lm, lmSpec).explain(req));
    const e2 = await withLm(model, tok, (lm) => localExplainer(lm, lmSpec).explain(req));
    expect(typeof e1).toBe("string");
    expect(e1).toBe(e2);
    const words = ["the", "cat", "dog", "ran", "a", "b", "c"];
    const prompts = Array.from({ length: 12 }, (_, i) =>
      Array.from({ length: 4 + (i % 4) }, (_, k) =>
        DIGIT_VOCAB.indexOf(words[(i * 3 + k * 5) % words.length]!),
      ),
    );
    const spec = Schema.decodeUnknownSync(NeuronExplanationSpec)({
      records: { site: "blocks.1.mlp.post", index: 2, topK: 4, randomK: 3, window: 6 },
      score: { explainTop: 2 },
    });
    const r = await withLm(model, tok, (lm) =>
      explainNeuron(
        lm.cache,
        lm.model,
        spec,
        { prompts, tokens: prompts.map((p) => p.map((id) => DIGIT_VOCAB[id]!)) },
        { explainer: localExplainer(lm, lmSpec), simulator: localSimulator(lm, lmSpec) },
      ),
    );
    expect(r.score.method).toBe("probabilities");
    expect(r.score.simulated.top.length).toBe(2);
    const pooled = r.score.score.pooled;
    expect(pooled.value === null ? pooled.reason !== null : Number.isFinite(pooled.value)).toBe(true);
  });
});

const stories = sharedModelPath("stories260K", "stories260K.bin");
warnIfNoSharedModels("neurons/local-lm.test.ts: the local-LM simulator on stories260K");

describe.skipIf(!hasSharedModels)("local LM on stories260K", () => {
  it("simulates with next-token probabilities over the single-token values, deterministically", async () => {
    const { config, weights } = loadModelSync(stories);
    const tok = readLlama2cTokenizer(sharedModelPath("stories260K", "tok512.bin"));
    // SentencePiece spells "10" as "1", "0": the values in play are 0 … 9
    expect(valueTokens(tok).map((v) => v.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const texts = [
      "Once upon a time, there was a little girl named Lily.",
      "She liked to play in the park with her dog.",
      "One day, the sun was hot and the sky was blue.",
      "Tom saw a big red ball and he was happy.",
      "The cat ran to the tree and sat down.",
      "Mom said it was time to go home.",
    ];
    const prompts = texts.map((t) => tok.encode(t));
    const data = { prompts, tokens: prompts.map((p) => p.map((id) => tok.decode([id]))) };
    const spec = Schema.decodeUnknownSync(NeuronExplanationSpec)({
      records: { site: "blocks.2.mlp.post", index: 3, topK: 4, randomK: 3, window: 8 },
      score: { explainTop: 2 },
    });
    const go = () =>
      withLm({ config, weights }, tok, (lm) =>
        explainNeuron(lm.cache, lm.model, spec, data, {
          explainer: localExplainer(lm, lmSpec),
          simulator: localSimulator(lm, lmSpec),
        }),
      );
    const a = await go();
    const b = await go();
    expect(a.score.simulated).toEqual(b.score.simulated);
    expect(a.score.explanation).toBe(b.score.explanation);
    for (const row of [...a.score.simulated.top, ...a.score.simulated.random])
      for (const x of row) expect(x >= 0 && x <= 9).toBe(true);
    console.log(
      `stories260K blocks.2.mlp.post[3]: explanation ${JSON.stringify(a.score.explanation)}, pooled r = ${a.score.score.pooled.value ?? a.score.score.pooled.reason}`,
    );
  });
});
