import { basename, dirname } from "node:path";
import { UnsupportedError } from "../errors/errors.ts";
import type { Activation, ModelConfig, NormKind, RotaryConfig } from "../model/config.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { activation, describeValue, Fields } from "./fields.ts";
import { type Mapped, Mapper, type TensorTable } from "./table.ts";

/**
 * TransformerLens state dicts: config.json holds HookedTransformerConfig fields; tensor names are
 * already canonical. Differences handled here:
 *   - buffers (attn.IGNORE, attn.mask, rotary_sin/cos) are dropped;
 *   - grouped-query attention stores attn._W_K/_W_V/_b_K/_b_V: renamed to W_K, ...;
 *   - all-zero optional biases (TL creates every bias, zero when the model has none) are dropped;
 *   - normalization_type LNPre / RMSPre (weights folded away) become layernorm / rmsnorm with
 *     w = 1 (and b = 0): the canonical norm always has its weights.
 * Defaults follow HookedTransformerConfig: normalization_type "LN" when absent, d_mlp 4·d_model,
 * n_heads d_model / d_head, eps 1e-5, positional "standard", attn scale √d_head.
 */

/** config.json without model_type but with these is a TransformerLens config. */
export const isTransformerLensConfig = (cfg: Readonly<Record<string, unknown>>): boolean =>
  cfg.model_type === undefined && "n_layers" in cfg && "d_model" in cfg && "d_head" in cfg;

type Pre = "none" | "weights" | "pre";

const normalization = (f: Fields): { norm: NormKind; pre: Pre } => {
  const v = f.raw("normalization_type");
  if (v === null) return { norm: "none", pre: "none" };
  const name = v === undefined ? "LN" : v;
  switch (name) {
    case "LN":
      return { norm: "layernorm", pre: "weights" };
    case "LNPre":
      return { norm: "layernorm", pre: "pre" };
    case "RMS":
      return { norm: "rmsnorm", pre: "weights" };
    case "RMSPre":
      return { norm: "rmsnorm", pre: "pre" };
    default:
      throw new UnsupportedError({
        file: f.file,
        what: "normalization_type",
        expected: 'null, "LN", "LNPre", "RMS" or "RMSPre"',
        found: describeValue(v),
      });
  }
};

const unsupportedFlags = (f: Fields): void => {
  f.unsupportedUnless("attention_dir", (v) => v === "causal", '"causal"');
  for (const flag of [
    "use_local_attn",
    "final_rms",
    "scale_attn_by_inverse_layer_idx",
    "use_qk_norm",
    "post_embedding_ln",
    "use_normalization_before_and_after",
  ]) {
    f.unsupportedUnless(flag, (v) => v === false, "false");
  }
  f.unsupportedUnless("num_experts", () => false, "null (no mixture of experts)");
  for (const cap of ["attn_scores_soft_cap", "output_logits_soft_cap"]) {
    f.unsupportedUnless(cap, (v) => typeof v === "number" && v <= 0, "≤ 0 (no soft cap)");
  }
};

export const transformerLensConfig = (f: Fields, name: string): { config: ModelConfig; pre: Pre } => {
  unsupportedFlags(f);
  const d = f.int("d_model");
  const dHead = f.int("d_head");
  const nHeads = f.raw("n_heads") === -1 || !f.has("n_heads") ? Math.floor(d / dHead) : f.int("n_heads");
  if (nHeads < 1) f.fail("n_heads", "≥ 1 (inferred as d_model / d_head)", nHeads);
  const nKvHeads = f.intOr("n_key_value_heads", nHeads);
  if (nHeads % nKvHeads !== 0) f.fail("n_key_value_heads", `a divisor of n_heads = ${nHeads}`, nKvHeads);
  const vocabSize = f.int("d_vocab");
  const out = f.raw("d_vocab_out");
  f.unsupportedUnless("d_vocab_out", () => out === -1 || out === vocabSize, `-1 or d_vocab = ${vocabSize}`);
  const attnOnly = f.boolOr("attn_only", false);
  let act: Activation = "relu";
  if (!attnOnly) act = activation(f, "act_fn");
  else if (f.has("act_fn")) {
    try {
      act = activation(f, "act_fn");
    } catch {
      // attention-only: the activation is never used
    }
  }
  const { norm, pre } = normalization(f);
  const pos = f.strOr("positional_embedding_type", "standard");
  let rotary: RotaryConfig | null = null;
  if (pos === "rotary") {
    const dim = f.intOr("rotary_dim", dHead);
    if (dim > dHead || dim % 2 !== 0) f.fail("rotary_dim", `an even number ≤ d_head = ${dHead}`, dim);
    const style = f.boolOr("rotary_adjacent_pairs", false) ? "interleaved" : "half";
    rotary = { dim, base: f.numOr("rotary_base", 10000, Number.MIN_VALUE), style };
  } else if (pos !== "standard") {
    throw new UnsupportedError({
      file: f.file,
      what: "positional_embedding_type",
      expected: '"standard" or "rotary"',
      found: pos,
    });
  }
  const scale =
    f.raw("attn_scale") === -1 ? Math.sqrt(dHead) : f.numOr("attn_scale", Math.sqrt(dHead), Number.MIN_VALUE);
  const config: ModelConfig = {
    name,
    family: "transformerlens",
    dModel: d,
    nLayers: f.int("n_layers"),
    nHeads,
    nKvHeads,
    dHead,
    dMlp: attnOnly ? null : f.intOr("d_mlp", 4 * d),
    gatedMlp: attnOnly ? false : f.boolOr("gated_mlp", false),
    act,
    vocabSize,
    nCtx: f.int("n_ctx"),
    positional: pos === "standard" ? "learned" : "none",
    rotary,
    norm,
    normEps: f.numOr("eps", 1e-5, 0),
    parallelResidual: f.boolOr("parallel_attn_mlp", false),
    attnScale: f.boolOr("use_attn_scale", true) ? 1 / scale : 1,
  };
  return { config, pre };
};

const BUFFERS = new Set(["IGNORE", "mask", "rotary_sin", "rotary_cos"]);
const OPTIONAL_BIAS = /\.(b_Q|b_K|b_V|b_O|b_in|b_out|b_U)$/;
const allZero = (x: HostTensor): boolean => x.data.every((v) => v === 0);

export const transformerLensWeights = (c: ModelConfig, pre: Pre, t: TensorTable): Mapped => {
  const m = new Mapper(t);
  for (const name of t.names()) {
    const last = name.slice(name.lastIndexOf(".") + 1);
    if (BUFFERS.has(last) || last.startsWith("hook_")) continue;
    const canonical = name.replace(/\.attn\._([Wb]_[KV])$/, ".attn.$1");
    const x = t.read(name);
    if (OPTIONAL_BIAS.test(canonical) && allZero(x)) continue;
    if (c.gatedMlp && canonical.endsWith(".mlp.b_in")) {
      throw new UnsupportedError({
        file: t.entry(name)!.file,
        what: `tensor ${name}`,
        expected: "zeros (the canonical gated MLP, act(x·W_gate) ⊙ (x·W_in), has no b_in)",
        found: "non-zero values",
      });
    }
    m.put(canonical, name, x);
  }
  // Synthesise folded norms only once embed.W_E vouches for d_model (a config alone must not
  // make us allocate: validation reports the mismatch instead).
  const wE = m.sink.weights.get("embed.W_E");
  if (pre === "pre" && wE !== undefined && wE.shape[1] === c.dModel) {
    const ones = (): HostTensor => ({ data: new Float32Array(c.dModel).fill(1), shape: [c.dModel] });
    const zeros = (): HostTensor => ({ data: new Float32Array(c.dModel), shape: [c.dModel] });
    const norms = ["ln_final"];
    for (let l = 0; l < c.nLayers; l++) {
      norms.push(`blocks.${l}.ln1`);
      if (c.dMlp !== null) norms.push(`blocks.${l}.ln2`);
    }
    for (const n of norms) {
      if (!m.sink.weights.has(`${n}.w`))
        m.sink.set(`${n}.w`, ones(), { file: t.file, tensor: `${n}.w (ones: LNPre)` });
      if (c.norm === "layernorm" && !m.sink.weights.has(`${n}.b`)) {
        m.sink.set(`${n}.b`, zeros(), { file: t.file, tensor: `${n}.b (zeros: LNPre)` });
      }
    }
  }
  // Every tensor was considered above; non-canonical leftovers are reported by validation.
  return m.done(c, () => true);
};

export const mapTransformerLens = (
  configPath: string,
  raw: Record<string, unknown>,
  weights: () => TensorTable,
): Mapped => {
  const f = new Fields(configPath, raw);
  const { config, pre } = transformerLensConfig(f, basename(dirname(configPath)));
  return transformerLensWeights(config, pre, weights());
};
