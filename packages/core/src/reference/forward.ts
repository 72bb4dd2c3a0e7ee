import { InputError } from "../errors/index.ts";
import type { ModelConfig } from "../model/config.ts";
import { lookupSite, siteCatalog, siteShape } from "../model/sites.ts";
import type { Weights } from "../model/weights.ts";
import { type HeadInputs, attention, softcapValue } from "./attention.ts";
import { linear, type RefTensor } from "./math.ts";
import { mlp } from "./mlp.ts";
import { normalizeRows } from "./norms.ts";
import { readParams } from "./params.ts";

/**
 * The naive reference forward: the oracle every graph test compares against. Float64 throughout,
 * plain loops, written from the site catalogue's conventions (model/sites.ts) and nothing else.
 * B = batch, P = positions, d = d_model, H = query heads, K = key/value heads, V = vocabulary.
 */

export interface ReferenceOptions {
  /**
   * Which sites to return: "all" (every catalogue site, under its patchbay name), or a list of
   * names in either spelling (patchbay or TransformerLens), returned under the names given and in
   * that order. Default: none (logits only).
   */
  readonly sites?: "all" | readonly string[];
  /**
   * Interventions on the residual-stream-level sites — embed, pos_embed, resid_pre, attn_out,
   * resid_mid, mlp_in, mlp_out, resid_post, ln_final.normalized, logits — and on the per-head
   * inputs attn.q_input / k_input / v_input ([B, P, n, d], each head then normalises its own
   * slot), with the builder's semantics: the returned array (same length) replaces the value for
   * everything downstream and is what a capture of that site shows; undefined leaves it
   * unchanged. (Other sites inside attention and the MLP are not hookable here yet.) Used for
   * float64 finite differences of site gradients and as the oracle of edge patching.
   */
  readonly hooks?: (site: string, value: Float64Array) => Float64Array | undefined;
}

export interface ReferenceOutput {
  /** [B, P, V] */
  readonly logits: RefTensor;
  readonly sites: Map<string, RefTensor>;
}

const checkIds = (c: ModelConfig, ids: readonly (readonly number[])[]): void => {
  if (ids.length === 0)
    throw new InputError({ field: "ids", expected: "at least one sequence", found: "[]" });
  const P = ids[0]!.length;
  ids.forEach((seq, b) => {
    if (seq.length === 0)
      throw new InputError({ field: `ids[${b}]`, expected: "a non-empty prompt", found: "an empty prompt" });
    if (seq.length !== P)
      throw new InputError({
        field: `ids[${b}]`,
        expected: `length ${P} (the reference takes equal-length sequences, no padding)`,
        found: `length ${seq.length}`,
      });
    seq.forEach((t, p) => {
      if (!Number.isInteger(t) || t < 0 || t >= c.vocabSize)
        throw new InputError({
          field: `ids[${b}][${p}]`,
          expected: `an integer token id in [0, ${c.vocabSize})`,
          found: String(t),
        });
    });
  });
  if (c.positional === "learned" && P > c.nCtx)
    throw new InputError({
      field: "ids",
      expected: `at most n_ctx = ${c.nCtx} positions (learned positional embeddings)`,
      found: `${P} positions`,
    });
};

/** The names asked for, each with the catalogue name it resolves to ("all": every catalogue name). */
const resolveSites = (c: ModelConfig, sites: ReferenceOptions["sites"]): [asked: string, site: string][] => {
  const asked = sites === undefined ? [] : sites === "all" ? siteCatalog(c).map((s) => s.name) : sites;
  return asked.map((name) => {
    const hit = lookupSite(c, name);
    if (!hit.ok)
      throw new InputError({
        field: "sites",
        expected: `a site of ${c.name} (nearest: ${hit.suggestions.join(", ")})`,
        found: name,
      });
    return [name, hit.site.name];
  });
};

/** a + b (+ c), element-wise. */
const add = (a: Float64Array, b: Float64Array, c?: Float64Array): Float64Array => {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]! + (c === undefined ? 0 : c[i]!);
  return out;
};

/** x [R, d] → the same row copied to every head: [R, n, d] (q_input / k_input / v_input). */
const perHead = (x: Float64Array, rows: number, n: number, d: number): Float64Array => {
  const out = new Float64Array(rows * n * d);
  for (let r = 0; r < rows; r++)
    for (let h = 0; h < n; h++) for (let i = 0; i < d; i++) out[(r * n + h) * d + i] = x[r * d + i]!;
  return out;
};

/**
 * The naive float64 forward (plain loops, independent of the builder): logits [B, P, V] and\nthe requested sites, the oracle the ONNX graph is tested against.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Reference, Runtime, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const ids = [[1, 5, 9, 5]];
 * const onnx = await Effect.runPromise(
 *   Effect.scoped(Effect.flatMap(Runtime.openModel("builtin:induction"), (m) => Runtime.forward(m.sessions, m, ids))),
 * );
 * const { config, weights } = Weights.loadModelSync("builtin:induction");
 * const ref = Reference.referenceForward(config, weights, ids);
 * const worst = ref.logits.data.reduce((w, v, i) => Math.max(w, Math.abs(v - onnx.logits.data[i]!)), 0);
 * assert.ok(worst < 1e-3, `max |ONNX − reference| = ${worst}`);
 * ```
 */
export const referenceForward = (
  config: ModelConfig,
  weights: Weights,
  ids: readonly (readonly number[])[],
  opts: ReferenceOptions = {},
): ReferenceOutput => {
  const c = config;
  checkIds(c, ids);
  const resolved = resolveSites(c, opts.sites);
  const wanted = new Set(resolved.map(([, site]) => site));
  const params = readParams(c, weights);
  const B = ids.length;
  const P = ids[0]!.length;
  const R = B * P; // rows: one per (batch, position)
  const d = c.dModel;
  const catalog = new Map(siteCatalog(c).map((s) => [s.name, s]));
  const hook = (name: string, value: Float64Array): Float64Array => opts.hooks?.(name, value) ?? value;

  // Keep a site if it was asked for; `value` is only evaluated then. Shapes come from the catalogue.
  const captured = new Map<string, RefTensor>();
  const record = (name: string, value: () => Float64Array): void => {
    if (!wanted.has(name)) return;
    const info = catalog.get(name);
    if (info === undefined) throw new Error(`reference: recorded ${name}, which is not in the catalogue`);
    const shape = siteShape(info, c, B, P);
    const data = Float64Array.from(value());
    if (data.length !== shape.reduce((a, b) => a * b, 1))
      throw new Error(`reference: ${name} has ${data.length} values, catalogue shape [${shape.join(", ")}]`);
    captured.set(name, { data, shape });
  };

  // embed[b, p, :] = W_E[ids[b][p], :]   [B, P, d]
  let embed: Float64Array = new Float64Array(R * d);
  for (let b = 0; b < B; b++)
    for (let p = 0; p < P; p++) {
      const token = ids[b]![p]!;
      for (let i = 0; i < d; i++) embed[(b * P + p) * d + i] = params.W_E[token * d + i]!;
    }
  embed = hook("embed", embed);
  record("embed", () => embed);

  // resid = embed (+ pos_embed[b, p, :] = W_pos[p, :])
  let resid: Float64Array = embed;
  if (params.W_pos !== null) {
    let posEmbed: Float64Array = new Float64Array(R * d);
    for (let b = 0; b < B; b++)
      for (let p = 0; p < P; p++)
        for (let i = 0; i < d; i++) posEmbed[(b * P + p) * d + i] = params.W_pos[p * d + i]!;
    posEmbed = hook("pos_embed", posEmbed);
    record("pos_embed", () => posEmbed);
    resid = add(embed, posEmbed);
  }

  for (let l = 0; l < c.nLayers; l++) {
    const block = params.blocks[l]!;
    const s = (name: string) => `blocks.${l}.${name}`;
    const residPre = hook(s("resid_pre"), resid); // [B, P, d]
    record(s("resid_pre"), () => residPre);

    // Every head reads the residual stream: q_input_h = k_input_h = v_input_h = resid_pre, unless
    // a hook changes a head's copy. [B, P, n, d] → n inputs [B·P, d]
    const headInputs = (site: string, n: number): Float64Array[] => {
      const hooked = opts.hooks === undefined ? undefined : opts.hooks(site, perHead(residPre, R, n, d));
      record(site, () => hooked ?? perHead(residPre, R, n, d));
      if (hooked === undefined) return Array.from({ length: n }, () => residPre);
      return Array.from({ length: n }, (_, h) => {
        const x = new Float64Array(R * d);
        for (let r = 0; r < R; r++) x.set(hooked.subarray((r * n + h) * d, (r * n + h + 1) * d), r * d);
        return x;
      });
    };
    const inputs: HeadInputs = {
      q: headInputs(s("attn.q_input"), c.nHeads), //                       [B, P, H, d]
      k: headInputs(s("attn.k_input"), c.nKvHeads), //                     [B, P, K, d]
      v: headInputs(s("attn.v_input"), c.nKvHeads),
    };
    if (c.norm !== "none") {
      // ln1 sites: the norm of resid_pre itself (each head applies the same norm to its copy)
      const ln1 = normalizeRows(block.attn.ln1, residPre, R, d);
      record(s("ln1.scale"), () => ln1.scale!); // [B, P, 1]
      record(s("ln1.normalized"), () => ln1.normalized); // [B, P, d]
    }

    const a = attention(c, block.attn, inputs, B, P, l);
    record(s("attn.q"), () => a.q);
    record(s("attn.k"), () => a.k);
    record(s("attn.v"), () => a.v);
    if (a.rotQ !== null) record(s("attn.rot_q"), () => a.rotQ!);
    if (a.rotK !== null) record(s("attn.rot_k"), () => a.rotK!);
    record(s("attn.scores"), () => a.scores);
    record(s("attn.pattern"), () => a.pattern);
    record(s("attn.z"), () => a.z);
    record(s("attn.result"), () => a.result);
    if (a.ln1Post !== null) {
      record(s("ln1_post.scale"), () => a.ln1Post!.scale!);
      record(s("ln1_post.normalized"), () => a.ln1Post!.normalized);
    }
    const attnOut = hook(s("attn_out"), a.attnOut);
    record(s("attn_out"), () => attnOut);

    // serial:   resid_mid = resid_pre + attn_out;  mlp_in = resid_mid
    // parallel: mlp_in = resid_pre
    // The residual path carries resid_mid; only the MLP reads mlp_in (as in the graph builder).
    let residPath: Float64Array = residPre;
    if (!c.parallelResidual) {
      const residMid = hook(s("resid_mid"), add(residPre, attnOut));
      record(s("resid_mid"), () => residMid);
      residPath = residMid;
    }

    let mlpOut: Float64Array | null = null;
    if (block.mlp !== null) {
      const mlpIn = hook(s("mlp_in"), residPath);
      record(s("mlp_in"), () => mlpIn);
      const m = mlp(c, block.mlp, mlpIn, R);
      if (c.norm !== "none") {
        record(s("ln2.scale"), () => m.ln2.scale!);
        record(s("ln2.normalized"), () => m.ln2.normalized);
      }
      record(s("mlp.pre"), () => m.pre);
      if (m.preLinear !== null) record(s("mlp.pre_linear"), () => m.preLinear!);
      record(s("mlp.post"), () => m.post);
      if (m.ln2Post !== null) {
        record(s("ln2_post.scale"), () => m.ln2Post!.scale!);
        record(s("ln2_post.normalized"), () => m.ln2Post!.normalized);
      }
      mlpOut = hook(s("mlp_out"), m.mlpOut);
      const hookedOut = mlpOut;
      record(s("mlp_out"), () => hookedOut);
    }

    // serial:   resid_post = resid_mid + mlp_out
    // parallel: resid_post = resid_pre + attn_out + mlp_out
    const residPost = hook(
      s("resid_post"),
      c.parallelResidual
        ? mlpOut === null
          ? add(residPre, attnOut)
          : add(residPre, attnOut, mlpOut)
        : mlpOut === null
          ? residPath
          : add(residPath, mlpOut),
    );
    record(s("resid_post"), () => residPost);
    resid = residPost;
  }

  // x = ln_final(resid)   [B, P, d]
  const lnFinal = normalizeRows(params.lnFinal, resid, R, d);
  const finalStream =
    c.norm !== "none" ? hook("ln_final.normalized", lnFinal.normalized) : lnFinal.normalized;
  if (c.norm !== "none") {
    record("ln_final.scale", () => lnFinal.scale!);
    record("ln_final.normalized", () => finalStream);
  }

  // logits = cap(x·W_U + b_U)   [B, P, V]   (cap(y) = finalSoftcap·tanh(y/finalSoftcap), or y)
  const raw = linear(finalStream, R, d, params.W_U, c.vocabSize, params.b_U);
  const logits = hook(
    "logits",
    raw.map((y) => softcapValue(y, c.finalSoftcap)),
  );
  record("logits", () => logits);

  // Return sites under the names asked for, in the order asked (a site asked for twice, under
  // both spellings, gets two copies).
  const sites = new Map<string, RefTensor>();
  for (const [name, site] of resolved) {
    const t = captured.get(site);
    if (t === undefined) throw new Error(`reference: site ${site} was never computed`);
    const taken = [...sites.values()].includes(t);
    sites.set(name, taken ? { data: Float64Array.from(t.data), shape: [...t.shape] } : t);
  }
  return { logits: { data: logits, shape: [B, P, c.vocabSize] }, sites };
};
