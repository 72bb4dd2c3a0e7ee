import { InputError } from "@patchbay/core/errors";
import { type ModelConfig, mulberry32, type Weights } from "@patchbay/core/model";
import type { InductionTask } from "./induction.ts";
import { atMost, intInRange, MAX_SCALE, MAX_SEED, numberInRange, positiveInt } from "./options.ts";
import { type Block, craft } from "./rasp/craft.ts";

/**
 * `frac_prevs` compiled (tracr's make_frac_prevs; docs/methods.md#known-circuits) with the craft compiler
 * (rasp/craft.ts): at each position p ≥ 1 of [BOS, t_1 … t_L], the fraction of t_1 … t_p equal to
 * "x" (token 1), frac(p) = c_p / p.
 *
 * Readout (the output is numeric; we discretise it so that the task has a categorical answer and
 * an unsaturated logit-difference metric): K bins (default 4), bin(p) = ⌈K·frac(p)⌉ ∈ {0 … K}, i.e.
 * bin 0 is frac = 0 and bin k is frac ∈ ((k − 1)/K, k/K]. Logit k (k ≤ K) is c·[bin = k] (c =
 * logitScale); the logit ids double as bin labels, so V ≥ K + 1. The task's metric is the logit
 * difference between the clean bin and the corrupted input's bin.
 *
 * The RASP program (fracPrevsProgram is the same in plain TypeScript):
 *   is_x  = numerical(Map(tokens == "x"))                                    m0
 *   mean  = numerical(Aggregate(Select(indices, indices, ≤), is_x))          a1.h0
 *           BOS-anchored: the head averages uniformly over positions 0 … p, BOS included
 *           (W_Q = W_K = 0, so the pattern is exactly 1/(p + 1) with no softmax leakage), giving
 *           c_p/(p + 1)
 *   bin   = SequenceMap(mean, indices): ⌈K·mean·(p + 1)/p⌉                   m1
 *           (discretise: per position p, ReLU steps between the points c/(p + 1) where the bin
 *           changes; the BOS correction (p + 1)/p is folded into the breakpoints)
 *
 * Layers (H = 2; blocks TOK [V], POS [n_ctx], ISX, FRAC (numerical), BIN [K + 1], JUNK [8]):
 *   m0 is_x; a1.h0 the mean; m1 the bins; a0.h1 and a1.h1 distractors writing only JUNK
 *   (zero with `distractors: false`); a0.h0 is all zeros.
 */

export const FRAC_BOS = 0;
export const FRAC_X = 1;

export const FRAC_HEADS = {
  mean: { layer: 1, head: 0 },
  distractors: [
    { layer: 0, head: 1 },
    { layer: 1, head: 1 },
  ],
} as const;

export interface FracPrevsModelOptions {
  /** V, in [max(3, bins + 1), 512] (default 6): BOS, "x" and V − 2 other tokens. */
  readonly vocabSize?: number;
  /** Longest sequence including BOS, in [2, 256] (default 17). */
  readonly nCtx?: number;
  /** K, in [1, 64] (default 4). */
  readonly bins?: number;
  /** c, in [0, 1000] (default 10). */
  readonly logitScale?: number;
  readonly distractors?: boolean;
  readonly seed?: number;
}

/**
 * ⌈K·c/p⌉ in integers (p ≥ 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fracBin } from "@patchbay/zoo";
 *
 * assert.equal(fracBin(1, 2, 4), 2); // frac 1/2 in 4 bins
 * assert.equal(fracBin(3, 3, 4), 4);
 * ```
 */
export const fracBin = (count: number, p: number, bins: number): number =>
  count === 0 ? 0 : Math.floor((bins * count - 1) / p) + 1;

/**
 * The compiled frac_prevs model and its residual blocks (see the top of this file).
 *
 * Returns `{ config, weights, blocks }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fracPrevsModel } from "@patchbay/zoo";
 *
 * const m = fracPrevsModel();
 * assert.equal(m.config.nLayers, 2);
 * assert.ok(m.blocks.tok !== undefined);
 * ```
 */
export const fracPrevsModel = (
  opts: FracPrevsModelOptions = {},
): { readonly config: ModelConfig; readonly weights: Weights; readonly blocks: Record<string, Block> } => {
  const K = intInRange("bins", opts.bins ?? 4, 1, 64);
  const V = intInRange("vocabSize", opts.vocabSize ?? 6, Math.max(3, K + 1), 512);
  const nCtx = intInRange("nCtx", opts.nCtx ?? 17, 2, 256);
  const c = numberInRange("logitScale", opts.logitScale ?? 10, 0, MAX_SCALE);
  const seed = intInRange("seed", opts.seed ?? 0, 0, MAX_SEED);
  const k = craft({ name: "zoo-frac-prevs", vocabSize: V, nCtx, nLayers: 2, nHeads: 2, minDHead: 4 });
  const tok = k.categorical("tokens", V);
  const pos = k.categorical("indices", nCtx);
  const isX = k.numerical("is_x");
  const frac = k.numerical("frac");
  const bin = k.categorical("bin", K + 1);
  k.embedTokens(tok);
  k.embedPositions(pos);
  k.map(0, tok, isX, (t) => (t === FRAC_X ? 1 : null));
  k.aggregate(FRAC_HEADS.mean.layer, FRAC_HEADS.mean.head, { value: isX, output: frac, map: () => 1 });
  k.discretise(1, {
    input: frac,
    gate: pos,
    output: bin,
    points: (p) =>
      p === 0 ? [] : Array.from({ length: p + 1 }, (_, cnt) => [cnt / (p + 1), fracBin(cnt, p, K)] as const),
  });
  k.unembed(bin, (i) => i, c);
  if (opts.distractors !== false)
    for (const { layer, head } of FRAC_HEADS.distractors) k.distractor(layer, head, seed);
  const { config, weights } = k.build();
  return { config, weights, blocks: { tok, pos, isX, frac, bin } };
};

/**
 * The program in plain TypeScript: frac(p) = c_p/p and its bin, null at BOS.
 *
 * Returns `{ frac, bin }` per position.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FRAC_BOS, FRAC_X, fracPrevsProgram } from "@patchbay/zoo";
 *
 * const { frac, bin } = fracPrevsProgram([FRAC_BOS, FRAC_X, 2, FRAC_X, 3]);
 * assert.deepEqual(frac, [null, 1, 0.5, 2 / 3, 0.5]);
 * assert.equal(bin[0], null);
 * ```
 */
export const fracPrevsProgram = (
  tokens: readonly number[],
  bins = 4,
): { readonly frac: (number | null)[]; readonly bin: (number | null)[] } => {
  let cnt = 0;
  const frac: (number | null)[] = [];
  const bin: (number | null)[] = [];
  tokens.forEach((t, p) => {
    if (p > 0 && t === FRAC_X) cnt++;
    frac.push(p === 0 ? null : cnt / p);
    bin.push(p === 0 ? null : fracBin(cnt, p, bins));
  });
  return { frac, bin };
};

export interface FracPrevsTaskOptions {
  /** L, tokens after BOS (default 16; ≤ n_ctx − 1). */
  readonly length?: number;
  /** How many final positions the metric reads (default 4). */
  readonly metricPositions?: number;
  /** V and K of the model (defaults 6 and 4). */
  readonly vocabSize?: number;
  readonly bins?: number;
}

/**
 * n clean/corrupted pairs, deterministic given the seed. Clean: [BOS, t_1 … t_L], each t_i = "x"
 * with a per-example rate ρ ∈ [0.15, 0.85], else a random other token. Corrupted: the complement
 * ("x" ↔ not "x", so frac′ = 1 − frac; a not-"x" gets a random other token). Examples are redrawn
 * until, at every metric position (the last `metricPositions`), the clean bin is ≥ 1 and differs
 * from the corrupted bin; answers are the clean bins, wrong the corrupted bins.
 *
 * Returns `{ clean, corrupted, positions, answers, wrong }`, one entry per pair.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FRAC_BOS, fracPrevsTask } from "@patchbay/zoo";
 *
 * const t = fracPrevsTask(0, 2);
 * assert.equal(t.clean.length, 2);
 * assert.equal(t.clean[0]![0], FRAC_BOS);
 * ```
 */
export const fracPrevsTask = (seed: number, n: number, opts: FracPrevsTaskOptions = {}): InductionTask => {
  const V = opts.vocabSize ?? 6;
  const K = opts.bins ?? 4;
  const L = positiveInt("length", opts.length ?? 16, 1);
  const M = positiveInt("metricPositions", opts.metricPositions ?? 4, 1);
  atMost("metricPositions", M, "length", L);
  const rand = mulberry32(seed);
  const other = () => 2 + Math.floor(rand() * (V - 2));
  const task: InductionTask = { clean: [], corrupted: [], positions: [], answers: [], wrong: [] };
  const positions = Array.from({ length: M }, (_, i) => L - M + 1 + i);
  for (let e = 0; e < n; e++) {
    for (let tries = 0; ; tries++) {
      if (tries > 10_000)
        throw new InputError({
          field: "fracPrevsTask",
          expected: "a feasible length/bins",
          found: `L=${L}, K=${K}`,
        });
      const rho = 0.15 + 0.7 * rand();
      const clean = [FRAC_BOS, ...Array.from({ length: L }, () => (rand() < rho ? FRAC_X : other()))];
      const corrupted = clean.map((t, i) => (i === 0 ? FRAC_BOS : t === FRAC_X ? other() : FRAC_X));
      const a = fracPrevsProgram(clean, K).bin;
      const b = fracPrevsProgram(corrupted, K).bin;
      if (!positions.every((p) => a[p]! >= 1 && a[p] !== b[p])) continue;
      task.clean.push(clean);
      task.corrupted.push(corrupted);
      task.positions.push(positions);
      task.answers.push(positions.map((p) => a[p]!));
      task.wrong.push(positions.map((p) => b[p]!));
      break;
    }
  }
  return task;
};

export interface FracPrevsCircuitOptions {
  /** The edge ablation the ground truth is stated for (default "resample"). */
  readonly ablation?: "resample" | "zero";
}

/**
 * The ground truth of fracPrevsModel on fracPrevsTask at head granularity, per ablation
 * (docs/methods.md#known-circuits). Used: input→m0 (the token), m0→a1.h0<v> (is_x), a1.h0→m1 (the mean),
 * input→m1 (the index, for the BOS correction and the gate), m1→logits. a1.h0<q>/<k> read nothing
 * (W_Q = W_K = 0: the uniform pattern needs no input), so their edges are in neither circuit.
 * Under RESAMPLE ablation the complement corruption keeps BOS and every position, so input→m1
 * carries the same signal in clean and corrupted and is invisible (m1 reads no token axis);
 * under ZERO ablation it is needed (without it no gate opens and no bin is written).
 *
 * Returns edge names (`source->destination`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fracPrevsCircuit } from "@patchbay/zoo";
 *
 * assert.ok(fracPrevsCircuit().includes("m1->logits"));
 * ```
 */
export const fracPrevsCircuit = (opts: FracPrevsCircuitOptions = {}): string[] => {
  const M = `a${FRAC_HEADS.mean.layer}.h${FRAC_HEADS.mean.head}`;
  const gt = ["input->m0", `m0->${M}<v>`, `${M}->m1`, "m1->logits"];
  return (opts.ablation ?? "resample") === "zero" ? [...gt, "input->m1"] : gt;
};
