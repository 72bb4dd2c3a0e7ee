import { type Graph, GraphBuilder, type Value } from "../graph/index.ts";
import { InputError } from "../errors/index.ts";
import { broadcast } from "../graph/shapes.ts";
import { slidesAt } from "../model/config.ts";
import type { ModelConfig, Weights } from "../model/index.ts";
import { attention } from "./attention.ts";
import { mlp } from "./mlp.ts";
import { norm } from "./norm.ts";
import { rotaryTables } from "./rotary.ts";
import { type SiteHooks, SiteRecorder } from "./sites.ts";
import { softcap } from "./softcap.ts";

/**
 * Graph inputs of every transformer graph:
 *   input_ids  int64 [batch, pos]
 *   positions  int64 [batch, pos]              (learned positions, rotary or a sliding window only)
 *   attn_mask  bool  [batch, 1, pos, pos]      true where query q may attend to key k
 * Outputs: `logits` [batch, pos, d_vocab] (unless `logits: false`) and one output per captured site.
 */
export const INPUT_IDS = "input_ids";
export const POSITIONS = "positions";
export const ATTN_MASK = "attn_mask";
/** With `from`, the residual stream the forward starts from: float32 [batch, pos, d_model]. */
export const FROM_RESID = "from_resid";

/**
 * Where a forward may start: the residual stream entering layer `layer` (`resid_pre`), between
 * its attention and MLP (`resid_mid`, serial blocks only), or after it (`resid_post`, e.g. the
 * last layer's, so only ln_final and the unembedding run).
 */
export interface ForwardStart {
  readonly layer: number;
  readonly site: "resid_pre" | "resid_mid" | "resid_post";
}

export interface BuildOptions {
  /** Site names to return as outputs (canonical names, see model/sites.ts). */
  readonly capture?: Iterable<string>;
  readonly hooks?: SiteHooks;
  /** Sites whose value downstream ops read under the stable name leafName(site) (gradient targets). */
  readonly leaves?: Iterable<string>;
  /** Whether `logits` is an output (default true). */
  readonly logits?: boolean;
  readonly name?: string;
  /**
   * Canonical weights become float32 graph inputs named as the weights (canonical shapes) instead
   * of initializers, so one compiled session runs with changing weights (training). Attention then
   * uses the per-head form (no host-side fused W_QKV).
   */
  readonly weightsAsInputs?: boolean;
  /**
   * Start the forward at a residual-stream site: the graph input FROM_RESID [batch, pos, d] is
   * that site's value (it then passes through the site as usual, hooks and captures included),
   * and nothing upstream is built. Sites keep their names; input_ids is then not an input.
   */
  readonly from?: ForwardStart;
}

export interface TransformerGraph {
  readonly graph: Graph;
  /** The builder, for plans that extend the forward (metrics, autodiff). */
  readonly builder: GraphBuilder;
  readonly logits: Value;
  /** The unembedding's input LN_f(resid_L) [batch, pos, d] (logits = final·W_U + b_U). */
  readonly final: Value;
  /** Every site's value after the plan's hooks (what downstream ops read), by canonical name. */
  readonly sites: ReadonlyMap<string, Value>;
}

/**
 * The forward pass as a graph:
 *   resid_0 = W_E[ids] (+ W_pos[positions])
 *   serial:   resid_mid = resid_pre + attn(resid_pre);  resid_post = resid_mid + mlp(resid_mid)
 *   parallel: resid_post = resid_pre + attn(resid_pre) + mlp(resid_pre)
 *   logits = LN_f(resid_L)·W_U + b_U   (soft-capped: cap·tanh(logits/cap) when finalSoftcap)
 * Post-norm blocks (Gemma 2) add ln1_post(attn) and ln2_post(mlp) instead (see attention / mlp).
 * A sliding window ANDs attn_mask with pos_q − pos_k < W on the layers it applies to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Graph, Transformer, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 *
 * const { config, weights } = Weights.loadModelSync("builtin:induction");
 * const built = Transformer.buildTransformerGraph(config, weights, { capture: ["blocks.1.attn.pattern"] });
 * assert.deepEqual(
 *   built.graph.outputs.map((o) => o.name).sort(),
 *   ["blocks.1.attn.pattern", "logits"],
 * );
 * assert.ok(built.graph.inputs.some((i) => i.name === Transformer.INPUT_IDS));
 * assert.ok(Graph.toOnnx(built.graph).model.length > 0); // an ONNX model of the forward
 * ```
 */
export const buildTransformerGraph = (
  c: ModelConfig,
  w: Weights,
  opts: BuildOptions = {},
): TransformerGraph => {
  const g = new GraphBuilder(opts.name ?? c.name, opts.weightsAsInputs === true ? { weightInputs: w } : {});
  const sites = new SiteRecorder(
    g,
    new Set(opts.capture ?? []),
    opts.hooks ?? null,
    new Set(opts.leaves ?? []),
  );
  const B = "batch";
  const P = "pos";
  const from = opts.from;
  if (from !== undefined) checkStart(c, from);
  const needPositions =
    (c.positional === "learned" && from === undefined) || c.rotary !== null || c.slidingWindow != null;
  const positions = needPositions ? g.input(POSITIONS, "int64", [B, P]) : null;
  const mask = g.input(ATTN_MASK, "bool", [B, 1, P, P]);

  let resid: Value;
  if (from === undefined) {
    const ids = g.input(INPUT_IDS, "int64", [B, P]);
    resid = sites.mark("embed", g.gather(g.weight("embed.W_E", w.get("embed.W_E")!), ids, 0));
    if (c.positional === "learned") {
      const pos = sites.mark(
        "pos_embed",
        g.gather(g.weight("pos_embed.W_pos", w.get("pos_embed.W_pos")!), positions!, 0),
      );
      resid = g.add(resid, pos);
    }
  } else resid = g.input(FROM_RESID, "float32", [B, P, c.dModel]);
  const rotary = c.rotary !== null ? rotaryTables(g, c.rotary, positions!) : null;
  const windowed =
    c.slidingWindow != null ? slidingWindowMask(g, mask, positions!, c.slidingWindow.size) : null;

  for (let l = from?.layer ?? 0; l < c.nLayers; l++) {
    const pre = `blocks.${l}`;
    const starts = from !== undefined && l === from.layer ? from.site : "resid_pre";
    if (starts === "resid_post") {
      resid = sites.mark(`${pre}.resid_post`, resid);
      continue;
    }
    if (starts === "resid_pre") {
      resid = sites.mark(`${pre}.resid_pre`, resid);
      const attnOut = attention(g, c, w, l, sites, {
        resid,
        mask: slidesAt(c, l) ? windowed! : mask,
        rotary,
      });
      if (c.parallelResidual) {
        const mlpOut = c.dMlp !== null ? mlp(g, c, w, l, sites, resid) : null;
        resid = g.add(resid, attnOut);
        if (mlpOut !== null) resid = g.add(resid, mlpOut);
        resid = sites.mark(`${pre}.resid_post`, resid);
        continue;
      }
      resid = g.add(resid, attnOut);
    }
    resid = sites.mark(`${pre}.resid_mid`, resid);
    if (c.dMlp !== null) resid = g.add(resid, mlp(g, c, w, l, sites, resid));
    resid = sites.mark(`${pre}.resid_post`, resid);
  }
  const lnf = norm(g, c, w, "ln_final", resid, (v) => sites.mark("ln_final.scale", v));
  if (lnf !== null) resid = sites.mark("ln_final.normalized", lnf.normalized);
  const final = resid;
  let logits = g.matmul(resid, g.weight("unembed.W_U", w.get("unembed.W_U")!));
  if (w.has("unembed.b_U")) logits = g.add(logits, g.weight("unembed.b_U", w.get("unembed.b_U")!));
  logits = sites.mark("logits", softcap(g, logits, c.finalSoftcap));
  if (opts.logits !== false && !g.has("logits")) g.output(g.named(logits, "logits"));
  else if (opts.logits !== false) g.output(g.get("logits"));
  return { graph: g.build(), builder: g, logits, final, sites: sites.seen };
};

/** A start the model has: a layer in range, resid_mid only between serial sublayers. */
const checkStart = (c: ModelConfig, from: ForwardStart): void => {
  if (!(Number.isInteger(from.layer) && from.layer >= 0 && from.layer < c.nLayers))
    throw new InputError({
      field: "from.layer",
      expected: `a layer in [0, ${c.nLayers})`,
      found: String(from.layer),
    });
  if (from.site === "resid_mid" && c.parallelResidual)
    throw new InputError({
      field: "from.site",
      expected: "resid_pre or resid_post (parallel blocks have no resid_mid)",
      found: from.site,
    });
};

/**
 * attn_mask ∧ (pos_q − pos_k < size): [b, 1, p, p] bool, from the positions input, so padding and
 * every batch layout need nothing more (padded rows keep their open diagonal: 0 < size).
 */
const slidingWindowMask = (g: GraphBuilder, mask: Value, positions: Value, size: number): Value => {
  const diff = g.sub(g.unsqueeze(positions, 2), g.unsqueeze(positions, 1)); //   [b, p, p] int64
  const inside = g.unsqueeze(g.greater(g.int64s([size], [], "window"), diff), 1); // [b, 1, p, p]
  return g.node("And", [mask, inside], "bool", broadcast(mask.shape, inside.shape, "And"));
};
