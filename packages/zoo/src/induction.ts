import type { HostTensor } from "@patchbay/core/tensor";
import { InputError } from "@patchbay/core/errors";
import { type ModelConfig, mulberry32, normals, type Weights } from "@patchbay/core/model";
import { intInRange, MAX_SCALE, MAX_SEED, numberInRange, positiveInt } from "./options.ts";

/**
 * A compiled induction model: a 2-layer attention-only transformer whose weights are written by
 * hand, so its circuit is known exactly (the model zoo: docs/methods.md#known-circuits).
 *
 * Residual stream (d = 3V + n_ctx + J, V = vocabulary, J = 8), split into coordinate blocks that
 * are orthogonal because they are disjoint sets of axes:
 *
 *   TOK  [0, V)                  one-hot of the current token          (written by embed.W_E)
 *   POS  [V, V + n_ctx)          one-hot of the position               (written by pos_embed.W_pos)
 *   PREV [V + n_ctx, 2V + n_ctx) one-hot of the previous token         (written by a0.h1)
 *   OUT  [2V + n_ctx, 3V + n_ctx) one-hot of the predicted next token  (written by a1.h2)
 *   JUNK [3V + n_ctx, d)         scratch the distractors write; nothing reads it
 *
 * d_head = max(V, n_ctx); H = 4 heads per layer; no norms, no MLPs, no biases. With s the attention
 * logit (default 20) and σ = 1/attnScale = √d_head (scores are q·k·attnScale in this codebase, so Q
 * carries the factor σ·s to make the score exactly s):
 *
 *   a0.h1 previous-token head
 *     W_Q[1] [d, d_head]: POS+p → s·σ·e_p        W_K[1]: POS+k → e_{k+1}   (score = s·[k = p − 1])
 *     W_V[1]: TOK+t → e_t                        W_O[1] [d_head, d]: e_t → PREV+t
 *     Position p ≥ 1 puts weight e^s/(e^s + p) ≥ 1 − 31e^−20 on p − 1, so PREV(p) = one-hot of
 *     token(p − 1) up to ~1e−7 (position 0 attends to itself: PREV(0) = BOS).
 *   a1.h2 induction head (K-composition with a0.h1)
 *     W_Q[2]: TOK+t → s·σ·e_t                    W_K[2]: PREV+t → e_t      (score = s·[token(p) = token(k − 1)])
 *     W_V[2]: TOK+t → e_t                        W_O[2]: e_t → OUT+t
 *     It attends from a repeated token to the position just after its earlier occurrence and
 *     copies that position's token into OUT.
 *   unembed.W_U [d, V]: OUT+t → c·e_t (c = logitScale, default 10); every other row is 0.
 *   a0.h3, a1.h0 distractors (when `distractors`): seeded random W_Q, W_K, W_V reading the whole
 *     stream and a random W_O writing only JUNK. Nothing reads JUNK (no later head's W_Q/W_K/W_V
 *     row and no W_U row is non-zero there, except the layer-1 distractor's own), so their outputs
 *     reach the logits through exact zeros: they are active but provably irrelevant.
 *   a0.h0, a0.h2, a1.h1, a1.h3 zero heads (all weights 0; also the distractors when disabled).
 *
 * Why it is exact: every edge u→v of the component graph that the construction does not use
 * meets a zero block (u writes axes v's weights do not read), so patching it changes nothing, to
 * the last bit; the used edges are exact up to the e^−s leakage of the softmax.
 */

/** The heads of the construction: [layer, head]. */
export const INDUCTION_HEADS = {
  previousToken: { layer: 0, head: 1 },
  induction: { layer: 1, head: 2 },
  distractors: [
    { layer: 0, head: 3 },
    { layer: 1, head: 0 },
  ],
} as const;

const N_HEADS = 4;
const JUNK = 8;
/** The BOS token of inductionTask; the blocks draw from tokens 1 … V − 1. */
export const INDUCTION_BOS = 0;

export interface InductionModelOptions {
  /** V, in [4, 512] (default 32). */
  readonly vocabSize?: number;
  /** Longest sequence, in [3, 512] (default 32). */
  readonly nCtx?: number;
  /** s, the attention score of a match (non-matches score 0), in [0, 1000]; default 20. */
  readonly attnLogit?: number;
  /** c, the logit of the copied token (others get 0), in [0, 1000]; default 10. */
  readonly logitScale?: number;
  /** Random heads a0.h3 and a1.h0 that write only JUNK (default true); false makes them zero. */
  readonly distractors?: boolean;
  /** Seed of the distractors' weights (default 0). */
  readonly seed?: number;
}

/**
 * The subspaces of the residual stream: offsets of TOK, POS, PREV, OUT, JUNK and d_model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionSubspaces } from "@patchbay/zoo";
 *
 * const s = inductionSubspaces(32, 32);
 * assert.deepEqual(s, { tok: 0, pos: 32, prev: 64, out: 96, junk: 128, dModel: 136 });
 * ```
 */
export const inductionSubspaces = (vocabSize: number, nCtx: number) => ({
  tok: 0,
  pos: vocabSize,
  prev: vocabSize + nCtx,
  out: 2 * vocabSize + nCtx,
  junk: 3 * vocabSize + nCtx,
  dModel: 3 * vocabSize + nCtx + JUNK,
});

/**
 * The compiled induction model (see the comment at the top of this file).
 *
 * Returns a Model `{ config, weights }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const model = inductionModel({ vocabSize: 16 });
 * assert.equal(model.config.nLayers, 2);
 * assert.equal(model.config.vocabSize, 16);
 * ```
 */
export const inductionModel = (
  opts: InductionModelOptions = {},
): { readonly config: ModelConfig; readonly weights: Weights } => {
  const V = intInRange("vocabSize", opts.vocabSize ?? 32, 4, 512);
  const nCtx = intInRange("nCtx", opts.nCtx ?? 32, 3, 512);
  const s = numberInRange("attnLogit", opts.attnLogit ?? 20, 0, MAX_SCALE);
  const c = numberInRange("logitScale", opts.logitScale ?? 10, 0, MAX_SCALE);
  const seed = intInRange("seed", opts.seed ?? 0, 0, MAX_SEED);
  const sub = inductionSubspaces(V, nCtx);
  const d = sub.dModel;
  const dh = Math.max(V, nCtx);
  const config: ModelConfig = {
    name: "zoo-induction",
    family: "zoo",
    dModel: d,
    nLayers: 2,
    nHeads: N_HEADS,
    nKvHeads: N_HEADS,
    dHead: dh,
    dMlp: null,
    gatedMlp: false,
    act: "relu",
    vocabSize: V,
    nCtx,
    positional: "learned",
    rotary: null,
    norm: "none",
    normEps: 1e-5,
    parallelResidual: false,
    attnScale: 1 / Math.sqrt(dh),
  };
  const sigma = 1 / config.attnScale;
  const t = (shape: number[]): HostTensor => ({
    data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
    shape,
  });
  const w = new Map<string, HostTensor>();

  // embed.W_E [V, d]: token t → TOK+t; pos_embed.W_pos [n_ctx, d]: position p → POS+p
  const WE = t([V, d]);
  for (let i = 0; i < V; i++) WE.data[i * d + sub.tok + i] = 1;
  const Wpos = t([nCtx, d]);
  for (let p = 0; p < nCtx; p++) Wpos.data[p * d + sub.pos + p] = 1;
  w.set("embed.W_E", WE);
  w.set("pos_embed.W_pos", Wpos);

  // index helpers: W_Q/W_K/W_V [H, d, d_head], W_O [H, d_head, d]
  const inIdx = (h: number, row: number, col: number) => (h * d + row) * dh + col;
  const outIdx = (h: number, row: number, col: number) => (h * dh + row) * d + col;

  const distractor = (layer: number, h: number, m: Record<"W_Q" | "W_K" | "W_V" | "W_O", HostTensor>) => {
    if (opts.distractors === false) return;
    // one stream per (seed, layer, matrix)
    const draw = (k: number, n: number) =>
      normals((Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(layer * 4 + k + 1, 0x632be5ab)) >>> 0, n);
    for (const [k, name] of (["W_Q", "W_K", "W_V"] as const).entries()) {
      const z = draw(k, d * dh);
      const std = name === "W_V" ? 1 : 1.5;
      for (let row = 0; row < d; row++)
        for (let col = 0; col < dh; col++) m[name].data[inIdx(h, row, col)] = std * z[row * dh + col]!;
    }
    const z = draw(3, dh * JUNK);
    for (let row = 0; row < dh; row++)
      for (let j = 0; j < JUNK; j++)
        m.W_O.data[outIdx(h, row, sub.junk + j)] = z[row * JUNK + j]! / Math.sqrt(dh);
  };

  for (let layer = 0; layer < 2; layer++) {
    const m = {
      W_Q: t([N_HEADS, d, dh]),
      W_K: t([N_HEADS, d, dh]),
      W_V: t([N_HEADS, d, dh]),
      W_O: t([N_HEADS, dh, d]),
    };
    if (layer === 0) {
      const h = INDUCTION_HEADS.previousToken.head;
      for (let p = 0; p < nCtx; p++) m.W_Q.data[inIdx(h, sub.pos + p, p)] = s * sigma;
      for (let k = 0; k + 1 < nCtx; k++) m.W_K.data[inIdx(h, sub.pos + k, k + 1)] = 1;
      for (let i = 0; i < V; i++) {
        m.W_V.data[inIdx(h, sub.tok + i, i)] = 1;
        m.W_O.data[outIdx(h, i, sub.prev + i)] = 1;
      }
    } else {
      const h = INDUCTION_HEADS.induction.head;
      for (let i = 0; i < V; i++) {
        m.W_Q.data[inIdx(h, sub.tok + i, i)] = s * sigma;
        m.W_K.data[inIdx(h, sub.prev + i, i)] = 1;
        m.W_V.data[inIdx(h, sub.tok + i, i)] = 1;
        m.W_O.data[outIdx(h, i, sub.out + i)] = 1;
      }
    }
    const dis = INDUCTION_HEADS.distractors[layer]!;
    distractor(layer, dis.head, m);
    for (const [name, v] of Object.entries(m)) w.set(`blocks.${layer}.attn.${name}`, v);
  }

  // unembed.W_U [d, V]: OUT+t → c·e_t
  const WU = t([d, V]);
  for (let i = 0; i < V; i++) WU.data[(sub.out + i) * V + i] = c;
  w.set("unembed.W_U", WU);
  return { config, weights: w };
};

/**
 * Which part of the clean sequence [BOS, A, A] the corrupted one replaces by a block B (B shares
 * no token with A, and each block has distinct tokens):
 *   "both"    [BOS, B, B]  (default; the corrupted run copies B, so every used edge is visible)
 *   "first"   [BOS, B, A]
 *   "second"  [BOS, A, B]
 */
export type InductionCorruption = "both" | "first" | "second";

export interface InductionTaskOptions {
  /** L, tokens per block (default 12); needs 2L ≤ V − 1 and 2L + 1 ≤ n_ctx. */
  readonly blockLen?: number;
  readonly corrupt?: InductionCorruption;
  /** V of the model (default 32). */
  readonly vocabSize?: number;
}

export interface InductionTask {
  /** [n][2L + 1] */
  readonly clean: number[][];
  /** [n][2L + 1], same positions as clean */
  readonly corrupted: number[][];
  /** Metric positions: the second block's first L − 1 positions, 1 + L + i (i < L − 1). */
  readonly positions: number[][];
  /** The clean next token A_{i+1} at each metric position. */
  readonly answers: number[][];
  /** B_{i+1}: the token the corrupted block holds where the clean answer stands. */
  readonly wrong: number[][];
}

/**
 * n clean/corrupted pairs, deterministic given the seed (mulberry32). Clean: [BOS, A, A] with A a
 * block of L distinct random tokens from 1 … V − 1; corrupted: per `corrupt`. The object is also
 * the engine's MetricBinding (positions, answers, wrong) for logit-diff.
 *
 * Returns `{ clean, corrupted, positions, answers, wrong }`, one entry per pair.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionTask } from "@patchbay/zoo";
 *
 * const t = inductionTask(0, 2, { blockLen: 4 });
 * assert.equal(t.clean.length, 2);
 * const [seq] = t.clean;
 * assert.deepEqual(seq!.slice(1, 5), seq!.slice(5, 9)); // [BOS, A, A]
 * assert.equal(t.answers[0]![0], seq![t.positions[0]![0]! + 1]); // the answer is the next token
 * ```
 */
export const inductionTask = (seed: number, n: number, opts: InductionTaskOptions = {}): InductionTask => {
  const V = opts.vocabSize ?? 32;
  const L = positiveInt("blockLen", opts.blockLen ?? 12, 2);
  const corrupt = opts.corrupt ?? "both";
  if (2 * L > V - 1)
    throw new InputError({
      field: "blockLen",
      expected: `2·blockLen ≤ vocabSize − 1 = ${V - 1} (two disjoint blocks of distinct tokens)`,
      found: String(L),
    });
  const rand = mulberry32(seed);
  const out: InductionTask = { clean: [], corrupted: [], positions: [], answers: [], wrong: [] };
  for (let e = 0; e < n; e++) {
    // partial Fisher–Yates over 1 … V − 1: A = the first L, B = the next L
    const pool = Array.from({ length: V - 1 }, (_, i) => i + 1);
    for (let i = 0; i < 2 * L; i++) {
      const j = i + Math.floor(rand() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    const A = pool.slice(0, L);
    const B = pool.slice(L, 2 * L);
    const [first, second] = corrupt === "both" ? [B, B] : corrupt === "first" ? [B, A] : [A, B];
    out.clean.push([INDUCTION_BOS, ...A, ...A]);
    out.corrupted.push([INDUCTION_BOS, ...first, ...second]);
    out.positions.push(Array.from({ length: L - 1 }, (_, i) => 1 + L + i));
    out.answers.push(A.slice(1));
    out.wrong.push(B.slice(1));
  }
  return out;
};

export interface InductionCircuitOptions {
  readonly corrupt?: InductionCorruption;
  /** The edge ablation the ground truth is stated for (default "resample"). */
  readonly ablation?: "resample" | "zero";
}

/**
 * The ground-truth circuit of inductionModel on inductionTask, as head-granularity edge names
 * (edges/layout.ts), for the given ablation (docs/methods.md#ground-truth-depends-on-the-ablation).
 *
 * Used edges: input→a0.h1<q>/<k> (positions, for previous-token matching), input→a0.h1<v> (the
 * previous token), a0.h1→a1.h2<k> (K-composition), input→a1.h2<q> (the current token),
 * input→a1.h2<v> (the token to copy), a1.h2→logits. Under RESAMPLE ablation an edge is visible
 * only where clean and corrupted differ at the positions that matter:
 *   - input→a0.h1<q>/<k> carry only positional information, identical in clean and corrupted, so
 *     they are INVISIBLE to resample ablation (z_input − z′_input has no POS component) for every
 *     corruption, though zero ablation sees them;
 *   - "both": every other used edge is visible;
 *   - "first" [BOS, B, A]: the queries (second block) are unchanged, so input→a1.h2<q> is invisible;
 *   - "second" [BOS, A, B]: the matched keys and copied values lie in the first block, unchanged,
 *     so input→a0.h1<v>, a0.h1→a1.h2<k> and input→a1.h2<v> are invisible (patching them moves only
 *     keys and values the head does not attend to, an e^−s effect).
 * Under ZERO ablation (corruption irrelevant) every used edge is in the circuit.
 * input→a1.h2<k> is never in it: the induction keys read only PREV, which the input does not write.
 *
 * Returns edge names (`source->destination`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionCircuit } from "@patchbay/zoo";
 *
 * const edges = inductionCircuit({ ablation: "resample" });
 * assert.equal(edges.length, 5);
 * assert.ok(edges.includes("a0.h1->a1.h2<k>")); // K-composition: previous-token head into the induction head
 * ```
 */
export const inductionCircuit = (opts: InductionCircuitOptions = {}): string[] => {
  const P = `a0.h${INDUCTION_HEADS.previousToken.head}`;
  const I = `a1.h${INDUCTION_HEADS.induction.head}`;
  const posQ = `input->${P}<q>`;
  const posK = `input->${P}<k>`;
  const prevV = `input->${P}<v>`;
  const kComp = `${P}->${I}<k>`;
  const q = `input->${I}<q>`;
  const v = `input->${I}<v>`;
  const out = `${I}->logits`;
  if ((opts.ablation ?? "resample") === "zero") return [posQ, posK, prevV, kComp, q, v, out];
  switch (opts.corrupt ?? "both") {
    case "both":
      return [prevV, kComp, q, v, out];
    case "first":
      return [prevV, kComp, v, out];
    case "second":
      return [q, out];
  }
};
