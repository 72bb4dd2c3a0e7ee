import type { ModelConfig } from "./config.ts";

/**
 * The site catalogue: every activation patchbay can capture or intervene on, with its shape.
 * The builder (../transformer) and the naive reference forward (../reference) both produce
 * values under exactly these names, so they can be compared site by site.
 *
 * Dimension names: batch, pos (query position), key_pos, head (query heads), kv_head,
 * d_model, d_head, d_mlp, d_vocab. Scale sites have a trailing 1.
 *
 * Each site maps one to one onto a TransformerLens hook name (docs/methods.md#sites); `tl` gives it.
 * Conventions that matter when comparing values:
 * - `*.normalized` includes the norm's weight (and bias): LN(x) = (x − mean)/scale · w + b,
 *   RMS(x) = x/scale · w; `*.scale` is √(var + eps) (LN) or √(mean(x²) + eps) (RMS).
 * - `attn.q_input` / `k_input` / `v_input` are the residual stream as read by each head
 *   (before ln1), [batch, pos, head|kv_head, d_model]; ln1 is applied per head after them.
 * - `attn.scores` are q·k·attnScale with masked entries (future keys, padding) = −∞.
 * - `attn.result` is z_h·W_O[h] without b_O; attn_out = Σ_h result_h + b_O. With post-norms
 *   (Gemma 2) result_h = z_h·W_O[h] / σ ⊙ w_post, σ = `ln1_post.scale` of the same run, so
 *   attn_out = `ln1_post.normalized` = Σ_h result_h; `mlp_out` = `ln2_post.normalized`.
 * - `attn.scores` of soft-capped models are after the cap (cap·tanh(s/cap)), `logits` after the
 *   final cap; sliding-window layers mask keys with pos_q − pos_k ≥ W like future ones (−∞).
 * - `attn.k`, `attn.v`, `attn.rot_k` have kv_head heads (grouped-query attention).
 * - `mlp.pre` is x·W_in + b_in, or x·W_gate for gated MLPs, whose x·W_in is `mlp.pre_linear`.
 * - `resid_mid` exists only for serial blocks; `mlp_in` is resid_mid (serial) or resid_pre (parallel).
 */
export interface SiteInfo {
  readonly name: string;
  /** Dimension names, e.g. ["batch", "pos", "head", "d_head"]. */
  readonly dims: readonly string[];
  /** The TransformerLens hook name this site corresponds to. */
  readonly tl: string;
  /** Layer index, or null for sites outside the blocks. */
  readonly layer: number | null;
}

const site = (name: string, dims: string[], tl: string, layer: number | null = null): SiteInfo => ({
  name,
  dims,
  tl,
  layer,
});

/**
 * Every site of a model, in forward order: its name, dimension names, TransformerLens hook\nname and layer (null outside the blocks).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Sites, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = await Effect.runPromise(Weights.loadModel("builtin:induction"));
 * const pattern = Sites.siteCatalog(model.config).find((s) => s.name === "blocks.1.attn.pattern");
 * assert.equal(pattern?.tl, "blocks.1.attn.hook_pattern");
 * assert.deepEqual(pattern?.dims, ["batch", "head", "pos", "key_pos"]);
 * ```
 */
export const siteCatalog = (c: ModelConfig): SiteInfo[] => {
  const out: SiteInfo[] = [];
  const bpd = ["batch", "pos", "d_model"];
  const hasNorm = c.norm !== "none";
  out.push(site("embed", bpd, "hook_embed"));
  if (c.positional === "learned") out.push(site("pos_embed", bpd, "hook_pos_embed"));
  for (let l = 0; l < c.nLayers; l++) {
    const b = `blocks.${l}`;
    const s = (name: string, dims: string[], tl: string) =>
      out.push(site(`${b}.${name}`, dims, `${b}.${tl}`, l));
    s("resid_pre", bpd, "hook_resid_pre");
    s("attn.q_input", ["batch", "pos", "head", "d_model"], "hook_q_input");
    s("attn.k_input", ["batch", "pos", "kv_head", "d_model"], "hook_k_input");
    s("attn.v_input", ["batch", "pos", "kv_head", "d_model"], "hook_v_input");
    if (hasNorm) {
      s("ln1.scale", ["batch", "pos", "1"], "ln1.hook_scale");
      s("ln1.normalized", bpd, "ln1.hook_normalized");
    }
    s("attn.q", ["batch", "pos", "head", "d_head"], "attn.hook_q");
    s("attn.k", ["batch", "pos", "kv_head", "d_head"], "attn.hook_k");
    s("attn.v", ["batch", "pos", "kv_head", "d_head"], "attn.hook_v");
    if (c.rotary !== null) {
      s("attn.rot_q", ["batch", "pos", "head", "d_head"], "attn.hook_rot_q");
      s("attn.rot_k", ["batch", "pos", "kv_head", "d_head"], "attn.hook_rot_k");
    }
    s("attn.scores", ["batch", "head", "pos", "key_pos"], "attn.hook_attn_scores");
    s("attn.pattern", ["batch", "head", "pos", "key_pos"], "attn.hook_pattern");
    s("attn.z", ["batch", "pos", "head", "d_head"], "attn.hook_z");
    s("attn.result", ["batch", "pos", "head", "d_model"], "attn.hook_result");
    if (hasNorm && c.postNorms === true) {
      s("ln1_post.scale", ["batch", "pos", "1"], "ln1_post.hook_scale");
      s("ln1_post.normalized", bpd, "ln1_post.hook_normalized");
    }
    s("attn_out", bpd, "hook_attn_out");
    if (!c.parallelResidual) s("resid_mid", bpd, "hook_resid_mid");
    if (c.dMlp !== null) {
      s("mlp_in", bpd, "hook_mlp_in");
      if (hasNorm) {
        s("ln2.scale", ["batch", "pos", "1"], "ln2.hook_scale");
        s("ln2.normalized", bpd, "ln2.hook_normalized");
      }
      s("mlp.pre", ["batch", "pos", "d_mlp"], "mlp.hook_pre");
      if (c.gatedMlp) s("mlp.pre_linear", ["batch", "pos", "d_mlp"], "mlp.hook_pre_linear");
      s("mlp.post", ["batch", "pos", "d_mlp"], "mlp.hook_post");
      if (hasNorm && c.postNorms === true) {
        s("ln2_post.scale", ["batch", "pos", "1"], "ln2_post.hook_scale");
        s("ln2_post.normalized", bpd, "ln2_post.hook_normalized");
      }
      s("mlp_out", bpd, "hook_mlp_out");
    }
    s("resid_post", bpd, "hook_resid_post");
  }
  if (hasNorm) {
    out.push(site("ln_final.scale", ["batch", "pos", "1"], "ln_final.hook_scale"));
    out.push(site("ln_final.normalized", bpd, "ln_final.hook_normalized"));
  }
  out.push(site("logits", ["batch", "pos", "d_vocab"], "logits"));
  return out;
};

/**
 * The size of each named dimension for a model (batch and pos are given per run).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Sites, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = await Effect.runPromise(Weights.loadModel("builtin:induction"));
 * const sizes = Sites.dimSizes(model.config, 2, 5);
 * assert.equal(sizes.d_model, 136);
 * assert.equal(sizes.key_pos, 5);
 * ```
 */
export const dimSizes = (c: ModelConfig, batch: number, pos: number): Record<string, number> => ({
  batch,
  pos,
  key_pos: pos,
  head: c.nHeads,
  kv_head: c.nKvHeads,
  d_model: c.dModel,
  d_head: c.dHead,
  d_mlp: c.dMlp ?? 0,
  d_vocab: c.vocabSize,
  "1": 1,
});

/**
 * The shape of a site for a batch of `batch` sequences of `pos` tokens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Sites, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = await Effect.runPromise(Weights.loadModel("builtin:induction"));
 * const found = Sites.lookupSite(model.config, "blocks.0.attn.z");
 * assert.ok(found.ok);
 * assert.deepEqual(Sites.siteShape(found.site, model.config, 2, 5), [2, 5, 4, 32]); // [batch, pos, head, d_head]
 * ```
 */
export const siteShape = (info: SiteInfo, c: ModelConfig, batch: number, pos: number): number[] => {
  const sizes = dimSizes(c, batch, pos);
  return info.dims.map((d) => sizes[d]!);
};

/** Edit distance, for suggesting the nearest site names. */
const levenshtein = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
};

export type SiteLookup =
  | { readonly ok: true; readonly site: SiteInfo }
  | { readonly ok: false; readonly suggestions: string[] };

/**
 * Find a site by its patchbay name or its TransformerLens hook name (both spellings are accepted
 * everywhere a site is named). On failure, the three nearest names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Sites, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = await Effect.runPromise(Weights.loadModel("builtin:induction"));
 * const hit = Sites.lookupSite(model.config, "blocks.0.hook_attn_out"); // TransformerLens spelling
 * assert.ok(hit.ok && hit.site.name === "blocks.0.attn_out");
 * const miss = Sites.lookupSite(model.config, "blocks.0.attn_ot");
 * assert.ok(!miss.ok && miss.suggestions[0] === "blocks.0.attn_out");
 * ```
 */
export const lookupSite = (c: ModelConfig, name: string): SiteLookup => {
  const all = siteCatalog(c);
  const hit = all.find((s) => s.name === name || s.tl === name);
  if (hit !== undefined) return { ok: true, site: hit };
  const ranked = all
    .flatMap((s) => [
      { n: s.name, d: levenshtein(name, s.name) },
      { n: s.tl, d: levenshtein(name, s.tl) },
    ])
    .sort((x, y) => x.d - y.d);
  const suggestions: string[] = [];
  for (const r of ranked) {
    if (!suggestions.includes(r.n)) suggestions.push(r.n);
    if (suggestions.length === 3) break;
  }
  return { ok: false, suggestions };
};
