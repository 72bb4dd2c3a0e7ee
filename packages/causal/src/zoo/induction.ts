import { INDUCTION_BOS, inductionModel, inductionSubspaces } from "@patchbay/zoo";
import type { Alignment } from "../alignment/schema.ts";
import { causalModel, type Setting, type Value, type Variable } from "../model/causal-model.ts";
import { fail } from "../model/errors.ts";
import type { CausalTask } from "../task/task.ts";

/**
 * The high-level algorithm of the compiled induction model (core zoo/induction.ts), as a causal
 * model over prompts [BOS, T_0 … T_{L−1}, Q] with distinct block tokens T_i ∈ 1 … V − 1 and the
 * query Q = T_J (J ≤ L − 2):
 *
 *   T_0 … T_{L−1}, J   inputs
 *   Q = T_J            the query token (what the induction head matches on, read from TOK at the
 *                      last position)
 *   Y = T_{i+1} where T_i = Q   the token after the earlier occurrence (null if Q is not in
 *                      T_0 … T_{L−2}: the algorithm is undefined there)
 *
 * Interchanging Q from a source sets the base's query to the source's query token: the label is
 * the token after that token in the *base* block. In the network Q lives in the TOK block of the
 * residual stream at the last position, from the embedding until layer 1 reads it; after layer 1
 * the prediction is already written into OUT. Families:
 *   query             sources drawn independently (Q moves to any token of the base block)
 *   query-same-block  the source is the base's block with another query index (held out)
 *   output            interchange Y itself (the OUT block at the end)
 */
export interface InductionCausalOptions {
  /** V (default 16) */
  readonly vocabSize?: number;
  /** L, block length (default 6); prompts have L + 2 tokens */
  readonly blockLen?: number;
}

/**
 * The induction task as a causal model (block tokens T0…, query index J, query Q, answer Y) bound to the compiled induction network. Returns `{ task, network, vocabSize, blockLen }`; `network()` builds the model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionCausalTask } from "@patchbay/causal";
 *
 * const { task, network, vocabSize } = inductionCausalTask({ blockLen: 5 });
 * assert.equal(task.model.output, "Y");
 * assert.equal(network().config.vocabSize, vocabSize);
 * assert.deepEqual(task.families.map((f) => f.name), ["query", "query-same-block", "output"]);
 * ```
 */
export const inductionCausalTask = (opts: InductionCausalOptions = {}) => {
  const V = opts.vocabSize ?? 16;
  const L = opts.blockLen ?? 6;
  if (!(Number.isInteger(L) && L >= 3 && L <= V - 1))
    fail(
      "causal task induction",
      "blockLen",
      `an integer in [3, ${V - 1}] (distinct tokens from 1 … V − 1)`,
      String(L),
    );
  const tokens = Array.from({ length: V - 1 }, (_, i) => i + 1);
  const T = Array.from({ length: L }, (_, i) => `T${i}`);
  const block = (s: Setting): number[] => T.map((n) => s[n] as number);
  const variables: Variable[] = [
    ...T.map((name) => ({ name, values: tokens, parents: [] })),
    { name: "J", values: Array.from({ length: L - 1 }, (_, j) => j), parents: [] },
    { name: "Q", values: tokens, parents: [...T, "J"], mechanism: (s: Setting) => s[`T${s.J as number}`]! },
    {
      name: "Y",
      values: tokens,
      parents: [...T, "Q"],
      mechanism: (s: Setting): Value => {
        const i = block(s).indexOf(s.Q as number);
        return i >= 0 && i <= L - 2 ? (s[`T${i + 1}`] as number) : null;
      },
    },
  ];
  // distinct block tokens: partial Fisher–Yates over 1 … V − 1
  const sample = (u: () => number): Setting => {
    const pool = [...tokens];
    for (let i = 0; i < L; i++) {
      const j = i + Math.floor(u() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return { ...Object.fromEntries(T.map((n, i) => [n, pool[i]!])), J: Math.floor(u() * (L - 1)) };
  };
  const model = causalModel({ name: "induction", variables, output: "Y", sample });
  const task: CausalTask = {
    name: "induction",
    model,
    families: [
      { name: "query", variables: [["Q"]] },
      {
        name: "query-same-block",
        variables: [["Q"]],
        sources: (base, u) => [{ ...base, J: Math.floor(u() * (L - 1)) }],
      },
      { name: "output", variables: [["Y"]] },
    ],
    encode: (s) => [INDUCTION_BOS, ...block(s), s[`T${s.J as number}`] as number],
    label: (y) => y as number,
  };
  return { task, network: () => inductionModel({ vocabSize: V, nCtx: L + 2 }), vocabSize: V, blockLen: L };
};

/**
 * Alignments of the induction task's variables to the compiled model's residual stream.
 *
 * Returns named alignments: `query` (the true one), `queryWrongSubspace`, `queryWrongPosition`, `output`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionAlignments } from "@patchbay/causal";
 *
 * const a = inductionAlignments(16, 6);
 * assert.equal(a.query[0]!.variable, "Q");
 * assert.equal(a.query[0]!.site, "blocks.1.resid_pre");
 * ```
 */
export const inductionAlignments = (vocabSize: number, blockLen: number) => {
  const sub = inductionSubspaces(vocabSize, blockLen + 2);
  const range = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => from + i) as [number, ...number[]];
  return {
    /** Q in TOK at the query, as layer 1 reads it: the true alignment */
    query: [
      {
        variable: "Q",
        site: "blocks.1.resid_pre",
        positions: ["last"],
        subspace: { dims: range(sub.tok, vocabSize) },
      },
    ] satisfies Alignment,
    /** Q in PREV at the query: the wrong subspace (what a0.h1 wrote there is never matched) */
    queryWrongSubspace: [
      {
        variable: "Q",
        site: "blocks.1.resid_pre",
        positions: ["last"],
        subspace: { dims: range(sub.prev, vocabSize) },
      },
    ] satisfies Alignment,
    /** Q at the first block token: the wrong position */
    queryWrongPosition: [
      { variable: "Q", site: "blocks.1.resid_pre", positions: [{ index: 1 }], subspace: "full" },
    ] satisfies Alignment,
    /** Y in OUT at the end */
    output: [
      {
        variable: "Y",
        site: "blocks.1.resid_post",
        positions: ["last"],
        subspace: { dims: range(sub.out, vocabSize) },
      },
    ] satisfies Alignment,
  };
};
