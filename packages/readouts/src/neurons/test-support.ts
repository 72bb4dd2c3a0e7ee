import { type ModelConfig, mulberry32, randomWeights } from "@patchbay/core/model";
import type { Tokenizer } from "@patchbay/core/tokenizer";

/** A small GPT-2-shaped model with seeded random weights (LayerNorm, GELU MLPs). */
export const tinyConfig = (vocabSize = 20, nCtx = 32): ModelConfig => ({
  name: "neurons-tiny",
  family: "gpt2",
  dModel: 16,
  nLayers: 2,
  nHeads: 2,
  nKvHeads: 2,
  dHead: 8,
  dMlp: 32,
  gatedMlp: false,
  act: "gelu_tanh",
  vocabSize,
  nCtx,
  positional: "learned",
  rotary: null,
  norm: "layernorm",
  normEps: 1e-5,
  parallelResidual: false,
  attnScale: 1 / Math.sqrt(8),
});

export const tinyModel = (vocabSize = 20, nCtx = 32, seed = 1) => {
  const config = tinyConfig(vocabSize, nCtx);
  return { config, weights: randomWeights(config, seed) };
};

/** n prompts of lengths in [minLen, maxLen] over ids [lo, V). */
export const randomPrompts = (
  seed: number,
  n: number,
  V: number,
  minLen: number,
  maxLen: number,
  lo = 0,
): number[][] => {
  const u = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const len = minLen + Math.floor(u() * (maxLen - minLen + 1));
    return Array.from({ length: len }, () => lo + Math.floor(u() * (V - lo)));
  });
};

/**
 * A word-level tokenizer over a fixed vocabulary (for zoo models without one): encode is greedy
 * longest match over the vocabulary's strings, characters matching nothing map to `unk`. Its
 * vocabulary holds "0" … "10", TAB and newline, so a model over it can be a local simulator.
 */
export const wordTokenizer = (vocab: readonly string[], bos = 0, unk = 1): Tokenizer => {
  const byLength = vocab
    .map((s, id) => ({ s, id }))
    .filter((x) => x.s !== "")
    .sort((a, b) => b.s.length - a.s.length);
  return {
    kind: "tokenizer.json",
    vocabSize: vocab.length,
    bos,
    eos: null,
    encode: (text, opts) => {
      const out: number[] = opts?.bos === true ? [bos] : [];
      let i = 0;
      while (i < text.length) {
        const hit = byLength.find((x) => text.startsWith(x.s, i));
        if (hit === undefined) {
          out.push(unk);
          i++;
        } else {
          out.push(hit.id);
          i += hit.s.length;
        }
      }
      return out;
    },
    decode: (ids) => ids.map((id) => vocab[id] ?? "").join(""),
    idToToken: (id) => vocab[id] ?? "",
  };
};

/** The digit vocabulary: <bos>, <unk>, "0" … "10", TAB, newline, a few words and letters. */
export const DIGIT_VOCAB: readonly string[] = [
  "<bos>",
  "<unk>",
  ...Array.from({ length: 11 }, (_, v) => String(v)),
  "\t",
  "\n",
  "unknown",
  "<start>",
  "<end>",
  " ",
  "the",
  "cat",
  "dog",
  "ran",
  ...Array.from("abcdefghijklmnopqrstuvwxyz:.,\"'"),
];
