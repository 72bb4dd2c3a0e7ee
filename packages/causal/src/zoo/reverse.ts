import { REVERSE_BOS, REVERSE_SEP, reverseModel } from "@patchbay/zoo";
import type { Alignment } from "../alignment/schema.ts";
import { causalModel, type Setting, type Value, type Variable } from "../model/causal-model.ts";
import { fail } from "../model/errors.ts";
import type { CausalTask } from "../task/task.ts";

/**
 * The high-level algorithm of the compiled `reverse` model (core zoo/reverse.ts, tracr's
 * make_reverse), read at one output slot. The prompt is [BOS, X_1 … X_n, SEP × J], cut after the
 * J-th SEP (the model is causal, so what follows never matters); the prediction at its last
 * position q = n + J is X_{n+1−J}. The RASP program, as variables:
 *
 *   X_1 … X_N, n, J   inputs (distinct tokens from the alphabet 2 … V − 1; 1 ≤ J ≤ n)
 *   Q   = n + J                          the query position (POS at the last token)
 *   L   = n                              length, computed by a0.h0 from the tokens; lives in
 *                                        the numerical LEN dimension (1/(n + 1)) after layer 0
 *   OPP = 2L + 1 − Q if L + 1 ≤ Q ≤ 2L   the position to copy (tracr's opp_index), computed by m0
 *         else null                      from LEN and POS; one-hot in OPP after layer 0
 *   Y   = X_OPP if OPP ≤ n else null     copied by a1.h0 into OUT
 *
 * Interchanging L moves OPP through the network's own arithmetic (2L + 1 − Q with the base's
 * position Q), not through n + 1 − J: the alignment test distinguishes the two. Families:
 *   opp              OPP from an independent source
 *   length           L from an independent source (the counterfactual copies another position)
 *   opp-same-tokens  OPP from the base's tokens with another slot J (held out)
 */
export interface ReverseCausalOptions {
  /** N, the longest input (default 6) */
  readonly maxLen?: number;
  /** shortest input (default 2) */
  readonly minLen?: number;
}

/**
 * The sequence-reversal task as a causal model bound to its compiled network. Returns `{ task, network, alignments, blocks }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reverseCausalTask } from "@patchbay/causal";
 *
 * const r = reverseCausalTask();
 * assert.equal(r.task.model.output, "Y");
 * assert.ok(Object.keys(r.alignments).includes("opp"));
 * ```
 */
export const reverseCausalTask = (opts: ReverseCausalOptions = {}) => {
  const N = opts.maxLen ?? 6;
  const minLen = opts.minLen ?? 2;
  if (!(Number.isInteger(minLen) && minLen >= 1 && minLen <= N))
    fail("causal task reverse", "minLen", `an integer in [1, ${N}]`, String(minLen));
  const net = reverseModel({ maxLen: N });
  const V = net.config.vocabSize;
  const alphabet = Array.from({ length: V - 2 }, (_, i) => i + 2);
  const X = Array.from({ length: N }, (_, i) => `X${i + 1}`);
  const lengths = Array.from({ length: N - minLen + 1 }, (_, i) => minLen + i);
  const slots = Array.from({ length: N }, (_, i) => i + 1);
  const positions = Array.from({ length: 2 * N + 1 }, (_, i) => i);
  const variables: Variable[] = [
    ...X.map((name) => ({ name, values: alphabet, parents: [] })),
    { name: "n", values: lengths, parents: [] },
    { name: "J", values: slots, parents: [] },
    {
      name: "Q",
      values: positions,
      parents: ["n", "J"],
      mechanism: (s) => (s.n as number) + (s.J as number),
    },
    { name: "L", values: lengths, parents: ["n"], mechanism: (s) => s.n! },
    {
      name: "OPP",
      values: positions,
      parents: ["L", "Q"],
      mechanism: (s): Value => {
        const L = s.L as number;
        const Q = s.Q as number;
        return L + 1 <= Q && Q <= 2 * L ? 2 * L + 1 - Q : null;
      },
    },
    {
      name: "Y",
      values: alphabet,
      parents: [...X, "n", "OPP"],
      mechanism: (s): Value => {
        const o = s.OPP;
        return o === null || (o as number) < 1 || (o as number) > (s.n as number)
          ? null
          : s[`X${o as number}`]!;
      },
    },
  ];
  const sample = (u: () => number): Setting => {
    const pool = [...alphabet];
    for (let i = 0; i < N; i++) {
      const j = i + Math.floor(u() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    const n = lengths[Math.floor(u() * lengths.length)]!;
    return { ...Object.fromEntries(X.map((x, i) => [x, pool[i]!])), n, J: 1 + Math.floor(u() * n) };
  };
  const model = causalModel({ name: "reverse", variables, output: "Y", sample });
  const task: CausalTask = {
    name: "reverse",
    model,
    families: [
      { name: "opp", variables: [["OPP"]] },
      { name: "length", variables: [["L"]] },
      {
        name: "opp-same-tokens",
        variables: [["OPP"]],
        sources: (base, u) => [{ ...base, J: 1 + Math.floor(u() * (base.n as number)) }],
      },
    ],
    encode: (s) => [
      REVERSE_BOS,
      ...X.slice(0, s.n as number).map((x) => s[x] as number),
      ...Array.from({ length: s.J as number }, () => REVERSE_SEP),
    ],
    label: (y) => y as number,
  };
  const { opp, len, tok } = net.blocks;
  const range = (b: { offset: number; size: number }) =>
    Array.from({ length: b.size }, (_, i) => b.offset + i) as [number, ...number[]];
  const alignments = {
    /** OPP in its one-hot block after layer 0, at the query */
    opp: [
      { variable: "OPP", site: "blocks.1.resid_pre", positions: ["last"], subspace: { dims: range(opp!) } },
    ],
    /** L in the LEN dimension between a0 and m0, at the query */
    length: [
      { variable: "L", site: "blocks.0.resid_mid", positions: ["last"], subspace: { dims: range(len!) } },
    ],
    /** OPP looked for in TOK: wrong */
    oppWrongSubspace: [
      { variable: "OPP", site: "blocks.1.resid_pre", positions: ["last"], subspace: { dims: range(tok!) } },
    ],
    /** L looked for before a0 wrote it: wrong */
    lengthTooEarly: [{ variable: "L", site: "blocks.0.resid_pre", positions: ["last"], subspace: "full" }],
  } satisfies Record<string, Alignment>;
  return { task, network: { config: net.config, weights: net.weights }, alignments, blocks: net.blocks };
};
