import type { ModelConfig, Weights } from "@patchbay/core/model";
import { referenceForward } from "@patchbay/core/reference";
import type { AttributionMetricKind, InputExample } from "./spec.ts";

/**
 * Independent computations for the tests: the metric of one example from the float64 reference
 * forward's logits (plain loops, written from the engine's metric definitions), with an optional
 * hook on a residual-level site.
 */
export const naiveMetric = (
  kind: AttributionMetricKind,
  logits: Float64Array, // [P, V] of one example
  V: number,
  ex: InputExample,
): number => {
  let total = 0;
  ex.positions.forEach((p, j) => {
    const row = Array.from({ length: V }, (_, v) => logits[p * V + v]!);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
    const logp = (t: number) => row[t]! - lse;
    const a = ex.answers[j]!;
    const w = ex.wrong?.[j] ?? 0;
    switch (kind) {
      case "logit-diff":
        total += row[a]! - row[w]!;
        break;
      case "prob-diff":
        total += Math.exp(logp(a)) - Math.exp(logp(w));
        break;
      case "logprob":
        total += logp(a);
        break;
      case "prob":
        total += Math.exp(logp(a));
        break;
      case "cross-entropy":
        total -= logp(a);
        break;
      case "kl": {
        const ref = ex.reference![j]!;
        const rm = Math.max(...ref);
        const rl = rm + Math.log(ref.reduce((s, x) => s + Math.exp(x - rm), 0));
        let kl = 0;
        for (let v = 0; v < V; v++) {
          const lr = ref[v]! - rl;
          kl += Math.exp(lr) * (lr - logp(v));
        }
        total += kl;
        break;
      }
    }
  });
  return total / ex.positions.length;
};

/** F of one example through the reference forward, with `site`'s value replaced by edit(value). */
export const referenceMetric = (
  c: ModelConfig,
  w: Weights,
  kind: AttributionMetricKind,
  ex: InputExample,
  site?: string,
  edit?: (v: Float64Array) => Float64Array,
): number => {
  const { logits } = referenceForward(c, w, [ex.ids], {
    hooks: (s, v) => (s === site && edit !== undefined ? edit(v) : undefined),
  });
  return naiveMetric(kind, logits.data, c.vocabSize, ex);
};
