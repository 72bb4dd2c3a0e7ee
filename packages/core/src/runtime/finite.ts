import { RuntimeError } from "../errors/index.ts";
import type { HostTensor } from "../tensor/index.ts";
import { firstNonFinite, showValue } from "../weights/finite.ts";

/**
 * Results are never silently non-finite. Weights are checked at load, so a NaN or ±Inf in the
 * logits or a metric means the run itself went wrong: float32 overflow (finite but huge weights
 * or activations), or a non-finite intervention value. Either way it is a RuntimeError naming
 * what (logits of example b at position p, vocabulary id v; the metric of example b) instead of
 * a null in JSON or an arbitrary token from argmax. One pass over the real (unpadded) rows.
 */

const WHY =
  "float32 overflow in the forward, or a non-finite intervention value (weights are checked at load)";

const nonFinite = (model: string, operation: string, what: string): RuntimeError =>
  new RuntimeError({ model, operation, cause: new Error(`non-finite ${what}: ${WHY}`) });

/** Logits [batch, pos, V]: the first non-finite value at a real position (p < lengths[b]), else null. */
export const checkLogits = (
  model: string,
  operation: string,
  logits: HostTensor,
  lengths: readonly number[],
): RuntimeError | null => {
  const [B, P, V] = logits.shape as [number, number, number];
  for (let b = 0; b < B; b++) {
    const from = b * P * V;
    const i = firstNonFinite(logits.data, from, from + (lengths[b] ?? P) * V);
    if (i >= 0) {
      const p = Math.floor((i - from) / V);
      const v = (i - from) % V;
      return nonFinite(
        model,
        operation,
        `logits: ${showValue(logits.data[i]!)} for example ${b} at position ${p}, vocabulary id ${v}`,
      );
    }
  }
  return null;
};

/** A plan's metric, per example and its mean: the first non-finite value, else null. */
export const checkMetric = (
  model: string,
  operation: string,
  perExample: Float32Array,
  mean: number,
): RuntimeError | null => {
  const i = firstNonFinite(perExample);
  if (i >= 0) return nonFinite(model, operation, `metric: ${showValue(perExample[i]!)} for example ${i}`);
  if (!Number.isFinite(mean))
    return nonFinite(model, operation, `metric: the batch mean is ${showValue(mean)}`);
  return null;
};

/** Any other result array (a gradient, scores): the first non-finite value, named by `what`, else null. */
export const checkValues = (
  model: string,
  operation: string,
  what: string,
  data: Float32Array,
): RuntimeError | null => {
  const i = firstNonFinite(data);
  return i < 0 ? null : nonFinite(model, operation, `${what}: ${showValue(data[i]!)} at flat index ${i}`);
};
