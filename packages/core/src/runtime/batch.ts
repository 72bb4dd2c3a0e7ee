import { InputError } from "../errors/index.ts";
import type { ModelConfig } from "../model/index.ts";
import { type ContextOptions, checkContext, MAX_SEQUENCE } from "./context.ts";

/**
 * A batch of token sequences of different lengths, right-padded into dense inputs.
 *   ids        [b, p]  int64, padding positions hold 0
 *   positions  [b, p]  int64, 0..len−1 then 0 in the padding
 *   mask       [b, 1, p, p] bool, mask[b, q, k] = (k ≤ q ∧ k < len_b) ∨ k = q
 * `padTo` pads further, to a dataset's longest sequence, so its rows line up across runs.
 * The diagonal is always open so padded query rows have something to attend to (no 0/0 → NaN);
 * their outputs are never read. Real positions see exactly the causal prefix of their sequence.
 * Every sequence must fit the model's context (runtime/context.ts; `context` opts rotary models in
 * to longer ones).
 */
export interface Batch {
  readonly batch: number;
  readonly pos: number;
  readonly lengths: readonly number[];
  readonly ids: BigInt64Array;
  readonly positions: BigInt64Array;
  readonly mask: Uint8Array;
}

export const makeBatch = (
  c: ModelConfig,
  seqs: readonly (readonly number[])[],
  field = "ids",
  context: ContextOptions = {},
  /** pad to at least this many positions (a dataset's longest, so runs of its rows line up) */
  padTo = 0,
): Batch => {
  if (seqs.length === 0)
    throw new InputError({ field, expected: "at least one sequence", found: "an empty batch" });
  const lengths = seqs.map((s) => s.length);
  seqs.forEach((s, b) => {
    if (s.length === 0) {
      throw new InputError({
        field: `${field}[${b}]`,
        expected: "a non-empty token sequence",
        found: "an empty prompt",
      });
    }
    checkContext(c, s.length, `${field}[${b}]`, context);
    s.forEach((id, p) => {
      if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) {
        throw new InputError({
          field: `${field}[${b}][${p}]`,
          expected: `a token id in [0, ${c.vocabSize})`,
          found: String(id),
        });
      }
    });
  });
  const B = seqs.length;
  const P = lengths.reduce((a, b) => Math.max(a, b), padTo);
  if (B * P * P > MAX_SEQUENCE * MAX_SEQUENCE) {
    throw new InputError({
      field,
      expected: `a batch whose attention mask (batch × pos² bytes) fits ${MAX_SEQUENCE}² bytes: run fewer or shorter sequences at a time`,
      found: `${B} sequences of up to ${P} tokens`,
    });
  }
  const ids = new BigInt64Array(B * P);
  const positions = new BigInt64Array(B * P);
  const mask = new Uint8Array(B * P * P);
  for (let b = 0; b < B; b++) {
    const len = lengths[b]!;
    for (let p = 0; p < len; p++) {
      ids[b * P + p] = BigInt(seqs[b]![p]!);
      positions[b * P + p] = BigInt(p);
    }
    for (let q = 0; q < P; q++)
      for (let k = 0; k <= q; k++) if (k < len || k === q) mask[(b * P + q) * P + k] = 1;
  }
  return { batch: B, pos: P, lengths, ids, positions, mask };
};
