import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelConfig, Weights } from "@patchbay/core/model";
import { writeSafetensors } from "@patchbay/core/weights";

/**
 * A trained zoo model as a TransformerLens folder, which weights/load.ts `loadModelSync` and
 * tokenizer/load.ts `findTokenizer` read back (so `patchbay sites --model <folder>` works):
 *   config.json        HookedTransformerConfig fields (weights/transformerlens.ts)
 *   model.safetensors  the canonical weights, F32 (canonical names are TransformerLens names)
 *   tokenizer.json     a word-level vocabulary (see wordLevelTokenizer)
 * Loaded back, the config's family is "transformerlens" and its name is the folder's name.
 */

const ACT_FN: Record<ModelConfig["act"], string> = {
  relu: "relu",
  gelu: "gelu",
  gelu_tanh: "gelu_new",
  silu: "silu",
};

const NORM: Record<ModelConfig["norm"], string | null> = { none: null, layernorm: "LN", rmsnorm: "RMS" };

/**
 * HookedTransformerConfig fields for a config (no rotary, no GQA, serial or parallel blocks).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trainedInductionConfig, transformerLensConfigJson } from "@patchbay/zoo";
 *
 * const json = transformerLensConfigJson(trainedInductionConfig());
 * assert.equal(json.n_layers, 2);
 * assert.equal(json.attn_only, true);
 * ```
 */
export const transformerLensConfigJson = (c: ModelConfig): Record<string, unknown> => {
  if (c.rotary !== null || c.nKvHeads !== c.nHeads || c.gatedMlp || c.positional !== "learned")
    throw new Error(`transformerLensConfigJson: ${c.name} needs learned positions, no rotary/GQA/gating`);
  return {
    model_name: c.name,
    n_layers: c.nLayers,
    d_model: c.dModel,
    d_head: c.dHead,
    n_heads: c.nHeads,
    d_mlp: c.dMlp,
    d_vocab: c.vocabSize,
    d_vocab_out: c.vocabSize,
    n_ctx: c.nCtx,
    act_fn: ACT_FN[c.act],
    attn_only: c.dMlp === null,
    normalization_type: NORM[c.norm],
    eps: c.normEps,
    positional_embedding_type: "standard",
    attn_scale: 1 / c.attnScale,
    use_attn_scale: true,
    parallel_attn_mlp: c.parallelResidual,
    original_architecture: "patchbay-zoo",
  };
};

/**
 * A Hugging Face tokenizer.json for a word-level vocabulary (ids = positions in `vocab`): words
 * split on whitespace, each looked up whole ("WordPiece" with a prefix no word carries, which is
 * what @huggingface/tokenizers runs; unknown words become <unk>), decoded joined by spaces.
 * The vocabulary must contain "<bos>" and "<unk>".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionVocab, wordLevelTokenizer } from "@patchbay/zoo";
 *
 * const tok = wordLevelTokenizer(inductionVocab()) as { model: { vocab: Record<string, number> } };
 * assert.equal(tok.model.vocab["<bos>"], 0);
 * ```
 */
export const wordLevelTokenizer = (vocab: readonly string[]): Record<string, unknown> => {
  for (const t of ["<bos>", "<unk>"])
    if (!vocab.includes(t)) throw new Error(`wordLevelTokenizer: the vocabulary needs ${t}`);
  if (new Set(vocab).size !== vocab.length) throw new Error("wordLevelTokenizer: duplicate words");
  const special = (content: string) => ({
    id: vocab.indexOf(content),
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special("<bos>"), special("<unk>")],
    normalizer: null,
    pre_tokenizer: { type: "WhitespaceSplit" },
    post_processor: null,
    decoder: { type: "WordPiece", prefix: "##", cleanup: false },
    model: {
      type: "WordPiece",
      unk_token: "<unk>",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((w, i) => [w, i])),
    },
  };
};

/**
 * Write config.json, model.safetensors and tokenizer.json into `dir` (created if needed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { loadModelSync } from "@patchbay/core/weights";
 * import { randomWeights } from "@patchbay/core/model";
 * import { inductionVocab, saveTransformerLensFolder, trainedInductionConfig } from "@patchbay/zoo";
 * const config = trainedInductionConfig();
 * const model = { config, weights: randomWeights(config, 0) };
 * const dir = join(mkdtempSync(join(tmpdir(), "zoo-")), "induction");
 * saveTransformerLensFolder(dir, model, inductionVocab());
 * assert.equal(loadModelSync(dir).config.nLayers, 2);
 * ```
 */
export const saveTransformerLensFolder = (
  dir: string,
  model: { readonly config: ModelConfig; readonly weights: Weights },
  vocab: readonly string[],
): void => {
  if (vocab.length !== model.config.vocabSize)
    throw new Error(`saveTransformerLensFolder: ${vocab.length} words for d_vocab ${model.config.vocabSize}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "config.json"),
    `${JSON.stringify(transformerLensConfigJson(model.config), null, 2)}\n`,
  );
  writeFileSync(join(dir, "model.safetensors"), writeSafetensors(model.weights, { format: "pt" }));
  writeFileSync(join(dir, "tokenizer.json"), `${JSON.stringify(wordLevelTokenizer(vocab), null, 2)}\n`);
};
