import { InputError } from "@patchbay/core/errors";
import { type ModelConfig, mulberry32, type Weights } from "@patchbay/core/model";
import type { InductionTask } from "./induction.ts";
import { atMost, intInRange, MAX_SCALE, MAX_SEED, numberInRange, positiveInt } from "./options.ts";
import { type Block, craft } from "./rasp/craft.ts";

/**
 * A compiled `reverse` (tracr's make_reverse; docs/methods.md#known-circuits), built by rasp/craft.ts.
 *
 * Input (causal, so the output comes after the input): [BOS, x_1 … x_n, SEP, …, SEP], always
 * n_ctx = 2N + 1 tokens (N = maxLen; at least n SEPs). At the j-th SEP, position q = n + j
 * (1 ≤ j ≤ n), the model predicts x_{n+1−j}: the SEP block spells x reversed. Tokens: BOS = 0,
 * SEP = 1, the alphabet 2 … V − 1.
 *
 * The RASP program (reverseProgram is the same in plain TypeScript):
 *   length  = numerical(Aggregate(Select(tokens, tokens, key ≠ SEP), tokens == BOS))  = 1/(n + 1)
 *             (tracr's make_length counts through the BOS weight: BOS and the n tokens share
 *             the attention, SEPs are masked out)
 *   opp     = SequenceMap(length, indices): 2n + 1 − q when n + 1 ≤ q ≤ 2n, else none
 *             (opp_index = length − index − 1 for the j-th output slot, index j − 1)
 *   reverse = Aggregate(Select(indices, opp, ==), tokens)
 *
 * Layers (H = 2 heads, residual blocks TOK [V], ONE, POS [n_ctx], LEN (numerical), OPP [N + 1],
 * OUT [V − 2], JUNK [8]):
 *   a0.h0 length head     W_Q: ONE → −s·√d_head at the SEP column, W_K: TOK+t → e_t, so keys score
 *                         −s on SEP and 0 elsewhere; W_V: TOK+BOS → 1, W_O → LEN.
 *   m0    opp MLP         discretise(LEN gated by POS): for each position q, ReLU steps at the
 *                         midpoints between 1/(n+1) and 1/(n+2) write the one-hot OPP
 *                         2n + 1 − q; outside the valid (q, n) pairs nothing.
 *   a1.h0 reverse head    W_Q: OPP+i → s·√d_head·e_i, W_K: POS+k → e_k (score s where k = opp);
 *                         W_V: TOK+t → e_t, W_O → OUT+t.
 *   unembed               OUT+t → c·e_t (c = logitScale).
 *   a0.h1, a1.h1          distractors (random W_Q/W_K/W_V on the whole stream, W_O into JUNK only),
 *                         or zero heads with `distractors: false`; m1 is all zeros.
 *
 * Every unused edge meets a zero block (its source writes axes its destination does not read), so
 * patching it changes nothing; the used edges are exact up to the e^−s leakage of the softmax and
 * float32 rounding in the MLP steps.
 */

export const REVERSE_BOS = 0;
export const REVERSE_SEP = 1;

export const REVERSE_HEADS = {
  length: { layer: 0, head: 0 },
  reverse: { layer: 1, head: 0 },
  distractors: [
    { layer: 0, head: 1 },
    { layer: 1, head: 1 },
  ],
} as const;

export interface ReverseModelOptions {
  /** N, the longest x, in [2, 64] (default 8); n_ctx = 2N + 1. */
  readonly maxLen?: number;
  /** Alphabet size A, in [2, 512] (default 2N, enough for two disjoint blocks); V = A + 2. */
  readonly alphabetSize?: number;
  /** s, the attention score of a match, in [0, 1000] (default 30). */
  readonly attnLogit?: number;
  /** c, the logit of the copied token, in [0, 1000] (default 10). */
  readonly logitScale?: number;
  /** Random heads writing only JUNK (default true). */
  readonly distractors?: boolean;
  readonly seed?: number;
}

/**
 * The compiled reverse model and its residual blocks (see the top of this file).
 *
 * Returns `{ config, weights, blocks }` (blocks by name: offset and size in the residual stream).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reverseModel } from "@patchbay/zoo";
 *
 * const m = reverseModel();
 * assert.equal(m.config.nLayers, 2);
 * assert.deepEqual(Object.keys(m.blocks), ["tok", "one", "pos", "len", "opp", "out"]);
 * ```
 */
export const reverseModel = (
  opts: ReverseModelOptions = {},
): { readonly config: ModelConfig; readonly weights: Weights; readonly blocks: Record<string, Block> } => {
  const N = intInRange("maxLen", opts.maxLen ?? 8, 2, 64);
  const A = intInRange("alphabetSize", opts.alphabetSize ?? 2 * N, 2, 512);
  const s = numberInRange("attnLogit", opts.attnLogit ?? 30, 0, MAX_SCALE);
  const c = numberInRange("logitScale", opts.logitScale ?? 10, 0, MAX_SCALE);
  const seed = intInRange("seed", opts.seed ?? 0, 0, MAX_SEED);
  const V = A + 2;
  const nCtx = 2 * N + 1;
  const k = craft({ name: "zoo-reverse", vocabSize: V, nCtx, nLayers: 2, nHeads: 2 });
  const tok = k.categorical("tokens", V);
  const one = k.numerical("one");
  const pos = k.categorical("indices", nCtx);
  const len = k.numerical("length");
  const opp = k.categorical("opp", N + 1);
  const out = k.categorical("reverse", A);
  k.embedTokens(tok);
  k.embedConstant(one);
  k.embedPositions(pos);
  k.aggregate(REVERSE_HEADS.length.layer, REVERSE_HEADS.length.head, {
    query: one,
    key: tok,
    score: (_, t) => (t === REVERSE_SEP ? -s : 0),
    value: tok,
    output: len,
    map: (t) => (t === REVERSE_BOS ? 1 : null),
  });
  k.discretise(0, {
    input: len,
    gate: pos,
    output: opp,
    points: (q) =>
      Array.from({ length: Math.min(q, N) }, (_, i) => {
        const n = i + 1;
        return [1 / (n + 1), n + 1 <= q && q <= 2 * n ? 2 * n + 1 - q : null] as const;
      }),
  });
  k.aggregate(REVERSE_HEADS.reverse.layer, REVERSE_HEADS.reverse.head, {
    query: opp,
    key: pos,
    score: (i, j) => (i === j ? s : 0),
    value: tok,
    output: out,
    map: (t) => (t >= 2 ? t - 2 : null),
  });
  k.unembed(out, (i) => i + 2, c);
  if (opts.distractors !== false)
    for (const { layer, head } of REVERSE_HEADS.distractors) k.distractor(layer, head, seed);
  const { config, weights } = k.build();
  return { config, weights, blocks: { tok, one, pos, len, opp, out } };
};

/**
 * The program in plain TypeScript, with the model's causal semantics: at each position q,
 * n = the number of non-SEP tokens in 1 … q; the output is tokens[2n + 1 − q] when
 * n + 1 ≤ q ≤ 2n, else null.
 *
 * Returns the expected output per position (null where there is none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REVERSE_BOS, REVERSE_SEP, reverseProgram } from "@patchbay/zoo";
 *
 * // [BOS, 3, 4, 5, SEP, …]: after the separator the model writes the tokens reversed
 * const out = reverseProgram([REVERSE_BOS, 3, 4, 5, REVERSE_SEP, 0, 0, 0]);
 * assert.equal(out[4], 5); // at the separator: the last token first
 * assert.equal(out[0], null);
 * ```
 */
export const reverseProgram = (tokens: readonly number[]): (number | null)[] => {
  let n = 0;
  return tokens.map((t, q) => {
    if (q > 0 && t !== REVERSE_SEP) n++;
    return n + 1 <= q && q <= 2 * n ? tokens[2 * n + 1 - q]! : null;
  });
};

/**
 * What the corrupted sequence changes (clean [BOS, x_1 … x_n, SEP…]; y is a block of fresh tokens
 * sharing none with x, and every block has distinct tokens):
 *   "tokens"  [BOS, y_1 … y_n, SEP…]            same length, other tokens
 *   "length"  [BOS, x_1 … x_{n−1}, SEP…]        x_n becomes a SEP: length n − 1, same tokens
 *   "both"    [BOS, y_1 … y_{n−1}, SEP…]        (default)
 * Metric positions: "tokens" every output slot j = 1 … n; "length"/"both" j = 2 … n − 2, where
 * the corrupted run still has an output (x_{n−1−j}, resp. y_{n−1−j}) and the clean run reads no
 * position the corruption touched.
 */
export type ReverseCorruption = "tokens" | "length" | "both";

export interface ReverseTaskOptions {
  /** N of the model (default 8). */
  readonly maxLen?: number;
  /** A of the model (default 2N). */
  readonly alphabetSize?: number;
  /** Shortest x (default 4, the least "length"/"both" allow); lengths are uniform in [minLen, N]. */
  readonly minLen?: number;
  readonly corrupt?: ReverseCorruption;
}

/**
 * n clean/corrupted pairs (deterministic given the seed); also the logit-diff MetricBinding.
 *
 * Returns `{ clean, corrupted, positions, answers, wrong }`, one entry per pair.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reverseTask } from "@patchbay/zoo";
 *
 * const t = reverseTask(0, 2);
 * assert.equal(t.clean.length, 2);
 * assert.equal(t.corrupted[0]!.length, t.clean[0]!.length);
 * ```
 */
export const reverseTask = (seed: number, n: number, opts: ReverseTaskOptions = {}): InductionTask => {
  const N = opts.maxLen ?? 8;
  const A = opts.alphabetSize ?? 2 * N;
  const corrupt = opts.corrupt ?? "both";
  const minLen = positiveInt("minLen", opts.minLen ?? 4, corrupt === "tokens" ? 1 : 4);
  atMost("minLen", minLen, "maxLen", N);
  if (A < 2 * N)
    throw new InputError({ field: "alphabetSize", expected: `≥ 2·maxLen = ${2 * N}`, found: String(A) });
  const rand = mulberry32(seed);
  const total = 2 * N + 1;
  const pad = (xs: number[]) => [
    REVERSE_BOS,
    ...xs,
    ...Array.from({ length: total - 1 - xs.length }, () => REVERSE_SEP),
  ];
  const task: InductionTask = { clean: [], corrupted: [], positions: [], answers: [], wrong: [] };
  for (let e = 0; e < n; e++) {
    const len = minLen + Math.floor(rand() * (N - minLen + 1));
    const pool = Array.from({ length: A }, (_, i) => i + 2);
    for (let i = 0; i < 2 * len; i++) {
      const j = i + Math.floor(rand() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    const x = pool.slice(0, len);
    const y = pool.slice(len, 2 * len);
    const x1 = [REVERSE_BOS, ...x]; // 1-based
    const y1 = [REVERSE_BOS, ...y];
    task.clean.push(pad(x));
    if (corrupt === "tokens") {
      task.corrupted.push(pad(y));
      const js = Array.from({ length: len }, (_, i) => i + 1);
      task.positions.push(js.map((j) => len + j));
      task.answers.push(js.map((j) => x1[len + 1 - j]!));
      task.wrong.push(js.map((j) => y1[len + 1 - j]!));
    } else {
      const src = corrupt === "length" ? x1 : y1;
      task.corrupted.push(pad(src.slice(1, len)));
      const js = Array.from({ length: len - 3 }, (_, i) => i + 2);
      task.positions.push(js.map((j) => len + j));
      task.answers.push(js.map((j) => x1[len + 1 - j]!));
      task.wrong.push(js.map((j) => src[len - 1 - j]!));
    }
  }
  return task;
};

export interface ReverseCircuitOptions {
  readonly corrupt?: ReverseCorruption;
  /** The edge ablation the ground truth is stated for (default "resample"). */
  readonly ablation?: "resample" | "zero";
}

/**
 * Ground truth of reverseModel on reverseTask by head, per ablation (docs/methods.md#known-circuits).
 *
 * Used edges: input→a0.h0<q> (the ONE axis), input→a0.h0<k> (which keys are SEP),
 * input→a0.h0<v> (the BOS indicator), a0.h0→m0 (length), input→m0 (the index), m0→a1.h0<q> (opp),
 * input→a1.h0<k> (the index), input→a1.h0<v> (the tokens), a1.h0→logits.
 * Under ZERO ablation all nine are in the circuit (zeroing any of them sends the reverse head
 * elsewhere or blanks its output).
 * Under RESAMPLE ablation an edge counts only if what it carries differs between clean and
 * corrupted: ONE, BOS and the positions never do, so input→a0.h0<q>, input→a0.h0<v>, input→m0 and
 * input→a1.h0<k> are invisible for every corruption;
 *   "tokens": the length is the same, so the whole length/opp path is invisible too:
 *             input→a1.h0<v>, a1.h0→logits;
 *   "length": the tokens the clean run copies are the same, so input→a1.h0<v> is invisible:
 *             input→a0.h0<k>, a0.h0→m0, m0→a1.h0<q>, a1.h0→logits;
 *   "both":   the union.
 *
 * Returns edge names (`source->destination`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reverseCircuit } from "@patchbay/zoo";
 *
 * const edges = reverseCircuit();
 * assert.ok(edges.includes("a0.h0->m0")); // the length feeds the MLP
 * ```
 */
export const reverseCircuit = (opts: ReverseCircuitOptions = {}): string[] => {
  const L = `a${REVERSE_HEADS.length.layer}.h${REVERSE_HEADS.length.head}`;
  const R = `a${REVERSE_HEADS.reverse.layer}.h${REVERSE_HEADS.reverse.head}`;
  const lenK = `input->${L}<k>`;
  const lenM = `${L}->m0`;
  const oppQ = `m0->${R}<q>`;
  const tokV = `input->${R}<v>`;
  const out = `${R}->logits`;
  if ((opts.ablation ?? "resample") === "zero")
    return [`input->${L}<q>`, lenK, `input->${L}<v>`, lenM, "input->m0", oppQ, `input->${R}<k>`, tokV, out];
  switch (opts.corrupt ?? "both") {
    case "tokens":
      return [tokV, out];
    case "length":
      return [lenK, lenM, oppQ, out];
    case "both":
      return [lenK, lenM, oppQ, tokV, out];
  }
};
