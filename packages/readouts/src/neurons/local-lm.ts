import { Effect } from "effect";
import { generate, type SessionCache } from "@patchbay/core/runtime";
import { InputError, type RuntimeError } from "@patchbay/core/errors";
import type { Model, ModelConfig } from "@patchbay/core/model";
import { plan, runPlan } from "@patchbay/core/engine";
import type { Tokenizer } from "@patchbay/core/tokenizer";
import type { NeuronExplainer, NeuronSimulator } from "./model.ts";
import { cleanExplanation, MAX_NORMALIZED_ACTIVATION, type Prompt } from "./prompts.ts";
import type { LocalLmSpec } from "./spec.ts";

/**
 * A causal LM run by patchbay itself (any model core loads, e.g. stories260K) as explainer and
 * simulator, through the engine.
 *
 * Simulator (the paper's "all at once" expected values): the simulation prompt is encoded part by
 * part; at the TAB of token i's line the model's next-token distribution p is read, and
 *   E_i = Σ_v v · p(tok_v) / Σ_v p(tok_v),   v ∈ {0, …, 10}
 * over the values whose text is a single token after a TAB (tok_v; the paper renormalises over
 * the values among the top-15 logprobs the same way). Values that take several tokens (stories260K
 * spells "10" as "1","0") are left out of both sums and listed in `values`. One forward pass per
 * prompt scores all its tokens. E_i ∈ [min values, max values] ⊆ [0, 10].
 *
 * Explainer: greedy generation (temperature 0) from the explanation prompt's text, up to
 * `maxTokens` tokens, cut at the first newline; prompts longer than the context keep their end.
 */

export interface LocalLm {
  readonly cache: SessionCache;
  readonly model: Model;
  readonly tokenizer: Tokenizer;
  readonly name?: string;
}

/**
 * The ids of `text` as it continues some earlier text: encode(anchor + text) minus encode(anchor),
 * which drops tokenizer artefacts of a fresh start (SentencePiece's dummy "▁" prefix, BOS);
 * falls back to encode(text) when the anchor's ids are not a prefix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { readHfJsonTokenizer } from "@patchbay/core/tokenizer";
 * import { wordLevelTokenizer } from "@patchbay/zoo";
 * import { continuationIds } from "@patchbay/readouts";
 * const file = join(mkdtempSync(join(tmpdir(), "tok-")), "tokenizer.json");
 * const vocab = ["<bos>", "<unk>", ...Array.from({ length: 11 }, (_, v) => String(v)), "a", "x"];
 * writeFileSync(file, JSON.stringify(wordLevelTokenizer(vocab)));
 * const tok = readHfJsonTokenizer(file);
 *
 * assert.deepEqual(continuationIds(tok, " x a", "a"), [vocab.indexOf("x"), vocab.indexOf("a")]);
 * ```
 */
export const continuationIds = (tok: Tokenizer, text: string, anchor = "\n"): number[] => {
  const a = tok.encode(anchor, { bos: false });
  const b = tok.encode(anchor + text, { bos: false });
  const prefix = a.length <= b.length && a.every((id, i) => b[i] === id);
  return prefix ? b.slice(a.length) : tok.encode(text, { bos: false });
};

/**
 * Values 0–10 whose text is one token after a TAB, with that token's id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { readHfJsonTokenizer } from "@patchbay/core/tokenizer";
 * import { wordLevelTokenizer } from "@patchbay/zoo";
 * import { valueTokens } from "@patchbay/readouts";
 * const file = join(mkdtempSync(join(tmpdir(), "tok-")), "tokenizer.json");
 * const vocab = ["<bos>", "<unk>", ...Array.from({ length: 11 }, (_, v) => String(v)), "a", "x"];
 * writeFileSync(file, JSON.stringify(wordLevelTokenizer(vocab)));
 * const tok = readHfJsonTokenizer(file);
 *
 * const values = valueTokens(tok);
 * assert.equal(values.length, 11);
 * assert.deepEqual(values[10], { value: 10, id: vocab.indexOf("10") });
 * ```
 */
export const valueTokens = (tok: Tokenizer): { value: number; id: number }[] => {
  const out: { value: number; id: number }[] = [];
  for (let v = 0; v <= MAX_NORMALIZED_ACTIVATION; v++) {
    const ids = continuationIds(tok, String(v), "\t");
    if (ids.length === 1) out.push({ value: v, id: ids[0]! });
  }
  return out;
};

/**
 * A prompt as ids, with the position of each slot (the last id of its part).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { readHfJsonTokenizer } from "@patchbay/core/tokenizer";
 * import { wordLevelTokenizer } from "@patchbay/zoo";
 * import { encodePrompt, simulationPrompt } from "@patchbay/readouts";
 * const file = join(mkdtempSync(join(tmpdir(), "tok-")), "tokenizer.json");
 * const vocab = ["<bos>", "<unk>", ...Array.from({ length: 11 }, (_, v) => String(v)), "a", "x"];
 * writeFileSync(file, JSON.stringify(wordLevelTokenizer(vocab)));
 * const tok = readHfJsonTokenizer(file);
 *
 * const { ids, slots } = encodePrompt(tok, simulationPrompt('the token "x"', ["a", "x"]));
 * assert.equal(slots.length, 2); // one slot per simulated token
 * assert.ok(slots.every((s) => s < ids.length));
 * ```
 */
export const encodePrompt = (tok: Tokenizer, prompt: Prompt): { ids: number[]; slots: number[] } => {
  const ids: number[] = [];
  const slots: number[] = [];
  prompt.parts.forEach((part, k) => {
    const piece = k === 0 ? tok.encode(part.text) : continuationIds(tok, part.text);
    ids.push(...piece);
    if (part.slot !== undefined) slots[part.slot] = ids.length - 1;
  });
  return { ids, slots };
};

export interface ExpectedValues {
  /** [n_sequences][len_i] E_i on the 0–10 scale. */
  readonly expected: number[][];
  /** [n_sequences][len_i] Σ_v p(tok_v): how much of the distribution the values hold. */
  readonly mass: number[][];
  /** The values in play (those with single-token spellings). */
  readonly values: number[];
  /** Ids dropped from the start of each prompt to fit the context. */
  readonly truncated: number[];
}

/** Context budget: n_ctx for every family (rotary models were trained to it too). */
const contextOf = (c: ModelConfig): number => c.nCtx;

/**
 * The expected 0–10 value at every slot of each prompt under a local model: `{ expected, mass, values }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { readHfJsonTokenizer } from "@patchbay/core/tokenizer";
 * import { inductionModel, wordLevelTokenizer } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { localExpectedValues, simulationPrompt } from "@patchbay/readouts";
 * const file = join(mkdtempSync(join(tmpdir(), "tok-")), "tokenizer.json");
 * const digits = Array.from({ length: 11 }, (_, v) => String(v));
 * const vocab = ["<bos>", "<unk>", ...digits, "a", "x", ...Array.from({ length: 17 }, (_, i) => `w${i}`)];
 * writeFileSync(file, JSON.stringify(wordLevelTokenizer(vocab))); // 32 words, as the model's vocabulary
 * const tokenizer = readHfJsonTokenizer(file);
 * const model = inductionModel(); // a stand-in language model: any model with a tokenizer works
 * const lmSpec = { maxTokens: 4, stopAtNewline: true, batch: 4 };
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) => localExpectedValues({ cache, model, tokenizer }, [simulationPrompt('the token "x"', ["a", "x"])], lmSpec)),
 *   ),
 * );
 * assert.equal(r.values.length, 11); // 0 … 10 are single tokens here
 * assert.equal(r.expected[0]!.length, 2);
 * ```
 */
export const localExpectedValues = (
  lm: LocalLm,
  prompts: readonly Prompt[],
  spec: LocalLmSpec,
): Effect.Effect<ExpectedValues, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const vt = valueTokens(lm.tokenizer);
    if (vt.length < 2)
      return yield* new InputError({
        field: "tokenizer",
        expected: 'at least two of the values "0" … "10" as single tokens after a TAB',
        found: `${vt.length} (${vt.map((x) => x.value).join(", ")})`,
      });
    const logitsOnly = plan();
    const V = lm.model.config.vocabSize;
    const n = contextOf(lm.model.config);
    const encoded = prompts.map((p, i) => {
      const e = encodePrompt(lm.tokenizer, p);
      const drop = Math.max(0, e.ids.length - n);
      return { i, ids: e.ids.slice(drop), slots: e.slots.map((s) => s - drop), drop };
    });
    for (const e of encoded) {
      const lost = e.slots.findIndex((s) => s < 0);
      if (lost >= 0)
        return yield* new InputError({
          field: `prompts[${e.i}]`,
          expected: `a simulation prompt whose tokens fit the context of ${n} ids`,
          found: `${e.ids.length + e.drop} ids (token ${lost} falls outside)`,
        });
    }
    const expected: number[][] = [];
    const mass: number[][] = [];
    for (let s = 0; s < encoded.length; s += spec.batch) {
      const chunk = encoded.slice(s, s + spec.batch);
      const r = yield* runPlan(
        lm.cache,
        lm.model,
        logitsOnly,
        chunk.map((e) => e.ids),
      );
      const logits = r.logits!; // [b, P, V]
      const P = logits.shape[1]!;
      chunk.forEach((e, b) => {
        const ev: number[] = [];
        const ms: number[] = [];
        for (const pos of e.slots) {
          const row = logits.data.subarray((b * P + pos) * V, (b * P + pos + 1) * V);
          const { value, total } = expectedValue(row, vt);
          ev.push(value);
          ms.push(total);
        }
        expected.push(ev);
        mass.push(ms);
      });
    }
    for (const [i, row] of expected.entries())
      for (const [t, x] of row.entries())
        if (!Number.isFinite(x))
          return yield* new InputError({
            field: `expected[${i}][${t}]`,
            expected: "a finite expected value (finite logits)",
            found: String(x),
          });
    return {
      expected,
      mass,
      values: vt.map((x) => x.value),
      truncated: encoded.map((e) => e.drop),
    };
  });

/**
 * softmax over the full row in float64 (stable: subtract the max), then the expected value over
 * the value tokens, renormalised: E = Σ v p_v / Σ p_v; total = Σ p_v.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expectedValue } from "@patchbay/readouts";
 *
 * const row = [0, Math.log(3), 0]; // p = [0.2, 0.6, 0.2]
 * const e = expectedValue(row, [{ value: 0, id: 0 }, { value: 10, id: 1 }]);
 * assert.ok(Math.abs(e.value - 7.5) < 1e-12); // (10 · 0.6) / (0.2 + 0.6)
 * assert.ok(Math.abs(e.total - 0.8) < 1e-12);
 * ```
 */
export const expectedValue = (
  row: ArrayLike<number>,
  values: readonly { value: number; id: number }[],
): { value: number; total: number } => {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  let z = 0;
  for (let i = 0; i < row.length; i++) z += Math.exp(row[i]! - max);
  let num = 0;
  let den = 0;
  for (const { value, id } of values) {
    const p = Math.exp(row[id]! - max) / z;
    num += value * p;
    den += p;
  }
  return { value: den > 0 ? num / den : 0, total: den };
};

/**
 * A simulator that runs a local model through the engine: at each token's slot, the expected value of the 0–10 tokens. A NeuronSimulator `{ name, simulate }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { readHfJsonTokenizer } from "@patchbay/core/tokenizer";
 * import { inductionModel, wordLevelTokenizer } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { localSimulator, simulateRequest } from "@patchbay/readouts";
 * const file = join(mkdtempSync(join(tmpdir(), "tok-")), "tokenizer.json");
 * const digits = Array.from({ length: 11 }, (_, v) => String(v));
 * const vocab = ["<bos>", "<unk>", ...digits, "a", "x", ...Array.from({ length: 17 }, (_, i) => `w${i}`)];
 * writeFileSync(file, JSON.stringify(wordLevelTokenizer(vocab))); // 32 words, as the model's vocabulary
 * const tokenizer = readHfJsonTokenizer(file);
 * const model = inductionModel(); // a stand-in language model: any model with a tokenizer works
 * const lmSpec = { maxTokens: 4, stopAtNewline: true, batch: 4 };
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) => localSimulator({ cache, model, tokenizer }, lmSpec).simulate(simulateRequest('the token "x"', [["a", "x"]]))),
 *   ),
 * );
 * assert.equal(r.expected[0]!.length, 2); // one value per token
 * assert.ok(r.expected[0]!.every((v) => v >= 0 && v <= 10));
 * ```
 */
export const localSimulator = (
  lm: LocalLm,
  spec: LocalLmSpec,
): NeuronSimulator<InputError | RuntimeError> => ({
  name: lm.name ?? `local:${lm.model.config.name}`,
  simulate: (req) =>
    localExpectedValues(lm, req.prompts, spec).pipe(
      Effect.map((r) => ({ expected: r.expected, method: "probabilities" as const })),
    ),
});

/**
 * An explainer that runs a local model through the engine: greedy generation from the explanation prompt. A NeuronExplainer `{ name, explain }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { readHfJsonTokenizer } from "@patchbay/core/tokenizer";
 * import { inductionModel, wordLevelTokenizer } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { explainRequest, localExplainer } from "@patchbay/readouts";
 * const file = join(mkdtempSync(join(tmpdir(), "tok-")), "tokenizer.json");
 * const digits = Array.from({ length: 11 }, (_, v) => String(v));
 * const vocab = ["<bos>", "<unk>", ...digits, "a", "x", ...Array.from({ length: 17 }, (_, i) => `w${i}`)];
 * writeFileSync(file, JSON.stringify(wordLevelTokenizer(vocab))); // 32 words, as the model's vocabulary
 * const tokenizer = readHfJsonTokenizer(file);
 * const model = inductionModel(); // a stand-in language model: any model with a tokenizer works
 * const lmSpec = { maxTokens: 4, stopAtNewline: true, batch: 4 };
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) => localExplainer({ cache, model, tokenizer }, lmSpec).explain(explainRequest([{ tokens: ["a", "x"], activations: [0, 8] }], 8))),
 *   ),
 * );
 * assert.equal(typeof r, "string");
 * ```
 */
export const localExplainer = (
  lm: LocalLm,
  spec: LocalLmSpec,
): NeuronExplainer<InputError | RuntimeError> => ({
  name: lm.name ?? `local:${lm.model.config.name}`,
  explain: (req) =>
    Effect.gen(function* () {
      const all = lm.tokenizer.encode(req.prompt.text);
      const room = Math.max(1, contextOf(lm.model.config) - spec.maxTokens);
      const prompt = all.slice(Math.max(0, all.length - room));
      const newline = continuationIds(lm.tokenizer, "\n");
      const ids = yield* generate(lm.cache, lm.model, prompt, {
        maxTokens: spec.maxTokens,
        temperature: 0,
        stopAt: spec.stopAtNewline && newline.length === 1 ? newline[0]! : lm.tokenizer.eos,
      });
      const text = lm.tokenizer.decode(ids);
      return cleanExplanation(spec.stopAtNewline ? text.split("\n")[0]! : text);
    }),
});
