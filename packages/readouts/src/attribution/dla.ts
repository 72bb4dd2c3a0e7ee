import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import type { Model } from "@patchbay/core/model";
import { plan, runPlan } from "@patchbay/core/engine";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { checkFinite } from "./input-site.ts";
import { type DlaData, type DlaSpec, dlaProblem } from "./spec.ts";

/**
 * Direct logit attribution. The final residual stream is a sum of component writes,
 *   resid_L = embed (+ pos_embed) + Σ_l [ Σ_h result_{l,h} + b_O,l + mlp_out_l ],
 * mlp_out_l = Σ_n post_{l,n}·W_out,l[n, :] + b_out,l, and the logit difference is
 *   LD = LN_f(resid_L)·u + (b_U[a] − b_U[w]),   u = W_U[:, a] − W_U[:, w]   [d_model]
 * (u = W_U[:, a] when no wrong answer is given: the answer logit). The final norm is linear in
 * its input once its scale s (ln_final.hook_scale, [batch, pos, 1]) is fixed, so with the scale
 * *of the actual run* (captured, as TransformerLens's apply_ln_to_stack does) each component c
 * [d_model] at position p gets
 *   none       DLA(c) = c·u
 *   layernorm  DLA(c) = ((c − mean(c))/s_p)·(w ⊙ u)        (centred: LN subtracts the mean)
 *   rmsnorm    DLA(c) = (c/s_p)·(w ⊙ u)
 * and LD = Σ_components DLA + ln_final.b·u + (b_U[a] − b_U[w]) exactly: exact for norm-free
 * models, and for normed ones exact given the frozen scale (by construction; the scale itself
 * depends on every component, which DLA does not attribute). A neuron n of layer l contributes
 * post_{l,n}·DLA(W_out,l[n, :]) (DLA is linear, the centring too); the neurons of a layer plus
 * its b_out term sum to the layer's mlp_out term.
 * Refused (InputError), because the terms would not sum to the logit difference: a final
 * soft-cap (Gemma 2: logits are cap·tanh(·/cap), not linear in the stream), and neurons of
 * post-norm models (mlp_out is the post-normed sum of the neurons' writes). Post-norm heads are
 * fine: a head's result is its share of the post-norm (attn_out = Σ_h result_h).
 */
export interface DlaTerms {
  /** The logit difference of the run (from its logits). */
  readonly logitDiff: number;
  /** Σ of every term below: equals logitDiff (up to float32 rounding). */
  readonly total: number;
  readonly embed: number;
  readonly posEmbed: number;
  /** [layer][head] (spec.heads). */
  readonly heads?: number[][];
  /** b_O per layer [layer] (heads' results do not include it). */
  readonly attnBias: number[];
  /** mlp_out per layer, b_out included [layer] (spec.mlps). */
  readonly mlps?: number[];
  /** The b_out part of each mlp term [layer]. */
  readonly mlpBias: number[];
  /** post × W_out row, per neuron [layer][d_mlp] (spec.neurons). */
  readonly neurons?: number[][];
  /** ln_final.b·u (LayerNorm only, else 0). */
  readonly lnFinalBias: number;
  /** b_U[a] − b_U[w] (0 without b_U). */
  readonly unembedBias: number;
}

export interface DlaSlot extends DlaTerms {
  readonly position: number;
  readonly answer: number;
  readonly wrong: number | null;
}

export interface DlaResult {
  readonly kind: "dla";
  readonly norm: "layernorm" | "rmsnorm" | "none";
  readonly examples: { readonly slots: DlaSlot[] }[];
  /** The mean over examples of the mean over each example's slots (the engine's metric mean). */
  readonly mean: DlaTerms;
}

const dot = (a: ArrayLike<number>, ao: number, b: ArrayLike<number>, n: number): number => {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i]! * b[i]!;
  return s;
};
const meanOf = (a: ArrayLike<number>, ao: number, n: number): number => {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i]!;
  return s / n;
};

const checkData = (m: Model, data: DlaData): void => {
  const B = data.prompts.length;
  const V = m.config.vocabSize;
  if (B === 0) throw new InputError({ field: "data.prompts", expected: "at least one prompt", found: "[]" });
  const lists = (name: "positions" | "answers" | "wrong") => {
    const l = data[name];
    if (l === undefined) return;
    if (l.length !== B)
      throw new InputError({
        field: `data.${name}`,
        expected: `one list per prompt (${B})`,
        found: `${l.length}`,
      });
  };
  lists("positions");
  lists("answers");
  lists("wrong");
  data.prompts.forEach((ids, b) => {
    const ps = data.positions[b]!;
    if (ps.length === 0)
      throw new InputError({ field: `data.positions[${b}]`, expected: "at least one position", found: "[]" });
    ps.forEach((p, j) => {
      if (!Number.isInteger(p) || p < 0 || p >= ids.length)
        throw new InputError({
          field: `data.positions[${b}][${j}]`,
          expected: `a position in [0, ${ids.length})`,
          found: String(p),
        });
    });
    for (const name of ["answers", "wrong"] as const) {
      const l = data[name]?.[b];
      if (l === undefined) continue;
      if (l.length !== ps.length)
        throw new InputError({
          field: `data.${name}[${b}]`,
          expected: `one id per position (${ps.length})`,
          found: `${l.length}`,
        });
      l.forEach((t, j) => {
        if (!Number.isInteger(t) || t < 0 || t >= V)
          throw new InputError({
            field: `data.${name}[${b}][${j}]`,
            expected: `a token id in [0, ${V})`,
            found: String(t),
          });
      });
    }
  });
};

/**
 * Direct logit attribution: the logit difference at each metric position split into the direct contributions of the embeddings, each head, each MLP (and neuron) and the biases. Returns `{ kind, norm, examples: [{ slots }], mean }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { directLogitAttribution } from "@patchbay/readouts";
 * const model = inductionModel();
 * const t = inductionTask(0, 1, { blockLen: 4 });
 * const data = { prompts: t.clean, positions: t.positions, answers: t.answers, wrong: t.wrong };
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       directLogitAttribution(cache, model, { heads: true, mlps: false, neurons: false }, data),
 *     ),
 *   ),
 * );
 * assert.ok(Math.abs(r.mean.total - r.mean.logitDiff) < 1e-2 * Math.abs(r.mean.logitDiff)); // the terms add up
 * const [, layer1] = r.mean.heads!;
 * assert.equal(layer1!.indexOf(Math.max(...layer1!)), 2); // the induction head a1.h2 writes the answer
 * ```
 */
export const directLogitAttribution = (
  cache: SessionCache,
  model: Model,
  spec: DlaSpec,
  data: DlaData,
): Effect.Effect<DlaResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const c = model.config;
    const w = model.weights;
    const refused = dlaProblem(spec, c.dMlp);
    if (refused !== null) return yield* refused;
    if (c.finalSoftcap != null)
      return yield* new InputError({
        field: "model",
        expected:
          "logits linear in the final residual stream (DLA's terms sum to the logit difference only then)",
        found: `${c.name}: final logits soft-capped at ${c.finalSoftcap}`,
      });
    if (c.postNorms === true && spec.neurons)
      return yield* new InputError({
        field: "neurons",
        expected: "false for a post-norm model (its mlp_out is the post-normed sum of the neurons' writes)",
        found: `true (${c.name} has post-norms)`,
      });
    yield* attempt(() => checkData(model, data), InputError);
    const d = c.dModel;
    const L = c.nLayers;
    const H = c.nHeads;
    const M = c.dMlp ?? 0;
    const learned = c.positional === "learned";
    const layers = Array.from({ length: L }, (_, l) => l);
    const captures = [
      "embed",
      ...(learned ? ["pos_embed"] : []),
      ...layers.map((l) => `blocks.${l}.attn.result`),
      ...(M > 0 ? layers.map((l) => `blocks.${l}.mlp_out`) : []),
      ...(M > 0 && spec.neurons ? layers.map((l) => `blocks.${l}.mlp.post`) : []),
      ...(c.norm !== "none" ? ["ln_final.scale"] : []),
    ];
    const out = yield* runPlan(cache, model, plan({ captures }), data.prompts);
    const P = out.lengths.reduce((a, b) => Math.max(a, b), 0); // padded length of the batch
    const V = c.vocabSize;
    const site = (n: string) => out.sites.get(n)!.data;
    const logits = out.logits!.data; // [B, P, V]
    const WU = w.get("unembed.W_U")!.data; // [d, V]
    const bU = w.get("unembed.b_U")?.data;
    const lnW = c.norm !== "none" ? w.get("ln_final.w")!.data : null; // [d]
    const lnB = c.norm === "layernorm" ? w.get("ln_final.b")?.data : undefined;
    const scale = c.norm !== "none" ? site("ln_final.scale") : null; // [B, P, 1]
    const examples: { slots: DlaSlot[] }[] = [];

    for (let b = 0; b < data.prompts.length; b++) {
      const slots: DlaSlot[] = [];
      for (const [j, p] of data.positions[b]!.entries()) {
        const a = data.answers[b]![j]!;
        const wr = data.wrong?.[b]?.[j] ?? null;
        // u [d] = W_U[:, a] − W_U[:, w];  v = w_ln ⊙ u (or u);  vs = Σ v (for LN centring)
        const u = new Float64Array(d);
        for (let i = 0; i < d; i++) u[i] = WU[i * V + a]! - (wr === null ? 0 : WU[i * V + wr]!);
        const v = new Float64Array(d);
        for (let i = 0; i < d; i++) v[i] = u[i]! * (lnW === null ? 1 : lnW[i]!);
        const vs = v.reduce((s, x) => s + x, 0);
        const s = scale === null ? 1 : scale[b * P + p]!;
        const row = b * P + p;
        // DLA of a vector c [d] at this position (see the header)
        const dla = (data: ArrayLike<number>, off: number): number =>
          (dot(data, off, v, d) - (c.norm === "layernorm" ? meanOf(data, off, d) * vs : 0)) / s;
        const embed = dla(site("embed"), row * d);
        const posEmbed = learned ? dla(site("pos_embed"), row * d) : 0;
        const heads = layers.map((l) => {
          const r = site(`blocks.${l}.attn.result`); // [B, P, H, d]
          return Array.from({ length: H }, (_, h) => dla(r, (row * H + h) * d));
        });
        const attnBias = layers.map((l) => {
          const bo = w.get(`blocks.${l}.attn.b_O`)?.data;
          return bo === undefined ? 0 : dla(bo, 0);
        });
        const mlps = M > 0 ? layers.map((l) => dla(site(`blocks.${l}.mlp_out`), row * d)) : [];
        const mlpBias = layers.map((l) => {
          const bo = M > 0 ? w.get(`blocks.${l}.mlp.b_out`)?.data : undefined;
          return bo === undefined ? 0 : dla(bo, 0);
        });
        const neurons =
          M > 0 && spec.neurons
            ? layers.map((l) => {
                const post = site(`blocks.${l}.mlp.post`); // [B, P, d_mlp]
                const Wout = w.get(`blocks.${l}.mlp.W_out`)!.data; // [d_mlp, d]
                return Array.from({ length: M }, (_, n) => post[row * M + n]! * dla(Wout, n * d));
              })
            : undefined;
        const lnFinalBias = lnB === undefined ? 0 : dot(lnB, 0, u, d);
        const unembedBias = bU === undefined ? 0 : bU[a]! - (wr === null ? 0 : bU[wr]!);
        const sum = (xs: readonly number[]) => xs.reduce((x, y) => x + y, 0);
        const total =
          embed + posEmbed + sum(heads.map(sum)) + sum(attnBias) + sum(mlps) + lnFinalBias + unembedBias;
        const lg = (t: number) => logits[row * V + t]!;
        const logitDiff = lg(a) - (wr === null ? 0 : lg(wr));
        checkFinite([total, logitDiff], `data.prompts[${b}]`, "direct logit attributions");
        slots.push({
          position: p,
          answer: a,
          wrong: wr,
          logitDiff,
          total,
          embed,
          posEmbed,
          ...(spec.heads ? { heads } : {}),
          attnBias,
          ...(spec.mlps && M > 0 ? { mlps } : {}),
          mlpBias,
          ...(neurons !== undefined ? { neurons } : {}),
          lnFinalBias,
          unembedBias,
        });
      }
      examples.push({ slots });
    }
    return { kind: "dla", norm: c.norm, examples, mean: meanTerms(examples) };
  });

/** Mean over examples of the mean over slots, term by term (arrays element-wise). */
const meanTerms = (examples: readonly { readonly slots: readonly DlaSlot[] }[]): DlaTerms => {
  type Tree = number | Tree[];
  const add = (acc: Tree | undefined, x: Tree, f: number): Tree =>
    typeof x === "number"
      ? ((acc as number | undefined) ?? 0) + f * x
      : x.map((y, i) => add((acc as Tree[] | undefined)?.[i], y, f));
  const keys = [
    "logitDiff",
    "total",
    "embed",
    "posEmbed",
    "heads",
    "attnBias",
    "mlps",
    "mlpBias",
    "neurons",
    "lnFinalBias",
    "unembedBias",
  ] as const;
  const acc: Partial<Record<(typeof keys)[number], Tree>> = {};
  for (const ex of examples)
    for (const slot of ex.slots) {
      const f = 1 / (examples.length * ex.slots.length);
      for (const k of keys) {
        const x = slot[k] as Tree | undefined;
        if (x !== undefined) acc[k] = add(acc[k], x, f);
      }
    }
  return acc as unknown as DlaTerms;
};
