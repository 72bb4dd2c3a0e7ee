import { argmax, type SessionCache } from "@patchbay/core/runtime";
import { attempt, InputError, type RuntimeError, TokenizerError } from "@patchbay/core/errors";
import { plan, runPlan } from "@patchbay/core/engine";
import { Effect } from "effect";
import type { LensModel } from "../lens/decode.ts";
import { defaultLensSites } from "../lens/sites.ts";
import { type PatchscopeExampleResult, runPatchscope } from "./patchscope.ts";
import { inspectionPrompt, tokenizePrompt } from "./prompts.ts";
import type { SweepSpec } from "./spec.ts";

/** A source: token ids, the position to read h at, and the expected token. */
export interface SourceExample {
  readonly ids: readonly number[];
  readonly position: number;
  readonly expected: number;
  readonly label?: string;
}

export interface SweepLayer {
  readonly sourceSite: string;
  readonly targetSite: string;
  /** Fraction of sources whose patched target's top-1 is the expected token. */
  readonly precisionAt1: number;
  /** Mean −log p(expected) at the readout, nats. */
  readonly meanSurprisal: number;
  /** Fraction whose top-1 is the model's own next-token prediction at the source position. */
  readonly agreement: number;
  /** Per source: the top-1 token, its spelling (with a tokenizer) and the generated text. */
  readonly top: readonly {
    readonly id: number;
    readonly token: string | null;
    readonly text: string | null;
  }[];
}

export interface SweepResult {
  readonly model: string;
  readonly prompt: string;
  readonly sources: number;
  /** The model's own top-1 at the source position = expected (the ceiling of next-token decoding). */
  readonly modelPrecisionAt1: number;
  readonly layers: readonly SweepLayer[];
}

/**
 * A built-in inspection prompt swept over source layers: for each source site ℓ, patch h (site ℓ,
 * the source position) into the prompt's marked token at site ℓ* = ℓ (or the fixed target site)
 * and score precision@1 / surprisal of the expected token at the target's last position.
 *
 * Returns `{ model, prompt, sources, modelPrecisionAt1, layers: [{ sourceSite, targetSite, precisionAt1, meanSurprisal, agreement, top }] }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { readHfJsonTokenizer } from "@patchbay/core/tokenizer";
 * import { wordLevelTokenizer } from "@patchbay/zoo";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { patchscopeSweep } from "@patchbay/readouts";
 * const file = join(mkdtempSync(join(tmpdir(), "tok-")), "tokenizer.json");
 * const words = ["<bos>", "<unk>", "cat", "->", "1135", "hello", "?"];
 * const vocab = [...words, ...Array.from({ length: 32 - words.length }, (_, i) => `w${i}`)];
 * writeFileSync(file, JSON.stringify(wordLevelTokenizer(vocab)));
 * const model = { ...inductionModel(), tokenizer: readHfJsonTokenizer(file) }; // 32 tokens, named
 * const sources = [{ ids: [0, 7, 8, 9], position: 3, expected: 9 }];
 * const spec = { prompt: "token-identity", mapping: { _tag: "identity" as const }, generate: 1 };
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       patchscopeSweep(cache, model, spec, { sources }),
 *     ),
 *   ),
 * );
 * assert.deepEqual(r.layers.map((l) => l.sourceSite), ["blocks.0.resid_pre", "blocks.0.resid_post", "blocks.1.resid_post"]);
 * ```
 */
export const patchscopeSweep = (
  cache: SessionCache,
  model: LensModel,
  spec: SweepSpec,
  data: { readonly sources: readonly SourceExample[] },
): Effect.Effect<SweepResult, InputError | TokenizerError | RuntimeError> =>
  Effect.gen(function* () {
    const tok = model.tokenizer;
    if (tok === undefined || tok === null)
      return yield* new InputError({
        field: "model.tokenizer",
        expected: "a tokenizer to encode the inspection prompt",
        found: "none",
      });
    const src = data.sources;
    if (src.length === 0)
      return yield* new InputError({ field: "data.sources", expected: "at least one source", found: "[]" });
    const target = yield* attempt(
      () => tokenizePrompt(tok, inspectionPrompt(spec.prompt)),
      InputError,
      TokenizerError,
    );
    // the model's own next-token prediction at each source position (unpatched run)
    const own = yield* runPlan(
      cache,
      model,
      plan(),
      src.map((s) => s.ids),
    );
    const V = model.config.vocabSize;
    const P = own.logits!.shape[1]!;
    const ownTop = src.map((s, b) =>
      argmax(own.logits!.data.subarray((b * P + s.position) * V, (b * P + s.position + 1) * V)),
    );
    const sites = spec.sites ?? defaultLensSites(model.config);
    const layers: SweepLayer[] = [];
    for (const site of sites) {
      const targetSite = spec.targetSite ?? site;
      const examples = src.map((s) => ({ source: s.ids, target: target.ids, expected: s.expected }));
      const r = yield* runPatchscopeAt(cache, model, site, targetSite, target.position, spec, examples, src);
      layers.push({
        sourceSite: site,
        targetSite,
        precisionAt1: r.precisionAt1!,
        meanSurprisal: r.meanSurprisal!,
        agreement: r.examples.filter((e, b) => e.top.id === ownTop[b]).length / src.length,
        top: r.examples.map((e) => ({ id: e.top.id, token: e.top.token, text: e.text })),
      });
    }
    return {
      model: model.config.name,
      prompt: spec.prompt,
      sources: src.length,
      modelPrecisionAt1: src.filter((s, b) => ownTop[b] === s.expected).length / src.length,
      layers,
    };
  });

/** Sources at different positions: one patchscope run per distinct position from the end. */
const runPatchscopeAt = (
  cache: SessionCache,
  model: LensModel,
  site: string,
  targetSite: string,
  targetPosition: number,
  spec: SweepSpec,
  examples: { source: readonly number[]; target: readonly number[]; expected: number }[],
  src: readonly SourceExample[],
) =>
  Effect.gen(function* () {
    const fromEnd = src.map((s) => s.position - s.ids.length);
    const groups = [...new Set(fromEnd)];
    const results: PatchscopeExampleResult[] = new Array(src.length);
    let corr = 0;
    let surp = 0;
    for (const g of groups) {
      const idx = src.flatMap((_, b) => (fromEnd[b] === g ? [b] : []));
      const r = yield* runPatchscope(
        cache,
        model,
        {
          source: { site, position: g },
          target: { site: targetSite, position: targetPosition },
          mapping: spec.mapping,
          generate: spec.generate,
          readout: -1,
        },
        { examples: idx.map((b) => examples[b]!) },
      );
      r.examples.forEach((e, k) => {
        results[idx[k]!] = e;
        corr += e.correct ? 1 : 0;
        surp += e.surprisal!;
      });
    }
    return { examples: results, precisionAt1: corr / src.length, meanSurprisal: surp / src.length };
  });
