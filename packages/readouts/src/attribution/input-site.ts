import { InputError, type RuntimeError } from "@patchbay/core/errors";
import { type MetricBinding, plan, runPlan } from "@patchbay/core/engine";
import type { ModelConfig, Model } from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import type { AttributionMetricKind, Baseline, InputAttributionSpec, InputExample } from "./spec.ts";

/**
 * What input attribution differentiates and interpolates: the value x [P, d_model] of one site of
 * one prompt (the token embedding `embed`, or the summed input `blocks.0.resid_pre`), as the
 * engine computes it, and the metric binding of the prompt repeated over a batch of rows.
 *
 * The canonical site of spec.input:
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inputSite } from "@patchbay/readouts";
 *
 * assert.equal(inputSite("embed"), "embed");
 * assert.equal(inputSite("resid_pre"), "blocks.0.resid_pre");
 * ```
 */
export const inputSite = (input: InputAttributionSpec["input"]): string =>
  input === "embed" ? "embed" : "blocks.0.resid_pre";

/** Validate one example's metric binding against the model; every problem names its field. */
export const checkExample = (
  c: ModelConfig,
  ex: InputExample,
  field: string,
  kind: AttributionMetricKind,
) => {
  const P = ex.ids.length;
  if (P === 0) throw new InputError({ field: `${field}.ids`, expected: "a non-empty prompt", found: "[]" });
  const n = ex.positions.length;
  if (n === 0)
    throw new InputError({
      field: `${field}.positions`,
      expected: "at least one metric position",
      found: "[]",
    });
  if (ex.answers.length !== n)
    throw new InputError({
      field: `${field}.answers`,
      expected: `one answer per metric position (${n})`,
      found: `${ex.answers.length} answers`,
    });
  if ((kind === "logit-diff" || kind === "prob-diff") && ex.wrong?.length !== n)
    throw new InputError({
      field: `${field}.wrong`,
      expected: `one wrong id per metric position (${n}) for ${kind}`,
      found: ex.wrong === undefined ? "nothing" : `${ex.wrong.length} ids`,
    });
  if (kind === "kl") {
    const r = ex.reference;
    if (r === undefined || r.length !== n || r.some((row) => row.length !== c.vocabSize))
      throw new InputError({
        field: `${field}.reference`,
        expected: `reference logits [${n}][${c.vocabSize}] for kl`,
        found: r === undefined ? "nothing" : `${r.length} rows`,
      });
  }
};

/** The example's binding repeated over `rows` identical rows of a batch. */
export const tiledBinding = (ex: InputExample, rows: number): MetricBinding => {
  const rep = <T>(v: T): T[] => Array.from({ length: rows }, () => v);
  const base: MetricBinding = {
    positions: rep(ex.positions),
    answers: rep(ex.answers),
    ...(ex.wrong !== undefined ? { wrong: rep(ex.wrong) } : {}),
  };
  if (ex.reference === undefined) return base;
  const n = ex.reference.length;
  const V = ex.reference[0]?.length ?? 0;
  // reference [rows, n, V]: the same logits for every row
  const data = new Float32Array(rows * n * V);
  for (let r = 0; r < rows; r++)
    ex.reference.forEach((row, j) => {
      data.set(row, (r * n + j) * V);
    });
  return { ...base, reference: { data, shape: [rows, n, V] } };
};

/** Fail on a NaN or ±∞ where it can arise (metric values, gradients). */
export const checkFinite = (values: ArrayLike<number>, field: string, what: string): void => {
  for (let i = 0; i < values.length; i++)
    if (!Number.isFinite(values[i]!))
      throw new InputError({ field, expected: `finite ${what}`, found: `${values[i]} at index ${i}` });
};

/** The site's value x [P, d] on a prompt, captured by the engine. */
export const captureInput = (
  cache: SessionCache,
  model: Model,
  site: string,
  ids: readonly number[],
): Effect.Effect<Float32Array, InputError | RuntimeError> =>
  Effect.map(
    runPlan(cache, model, plan({ captures: [site], logits: false }), [ids]),
    (r) => r.sites.get(site)!.data,
  );

/** The baseline x′ [P, d] of an example (see spec.Baseline). */
export const baselineInput = (
  cache: SessionCache,
  model: Model,
  site: string,
  baseline: Baseline,
  ex: InputExample,
  field: string,
): Effect.Effect<Float32Array, InputError | RuntimeError> => {
  const P = ex.ids.length;
  switch (baseline._tag) {
    case "zero":
      return Effect.succeed(new Float32Array(P * model.config.dModel));
    case "token":
      if (baseline.token >= model.config.vocabSize)
        return Effect.fail(
          new InputError({
            field: "spec.baseline.token",
            expected: `a token id in [0, ${model.config.vocabSize})`,
            found: String(baseline.token),
          }),
        );
      return captureInput(
        cache,
        model,
        site,
        Array.from({ length: P }, () => baseline.token),
      );
    case "prompt":
      if (ex.baseline === undefined || ex.baseline.length !== P)
        return Effect.fail(
          new InputError({
            field: `${field}.baseline`,
            expected: `a baseline prompt of the example's length ${P} (spec.baseline is "prompt")`,
            found: ex.baseline === undefined ? "nothing" : `length ${ex.baseline.length}`,
          }),
        );
      return captureInput(cache, model, site, ex.baseline);
  }
};

/** Contiguous chunks [start, end) of 0 … n − 1 of at most `size`. */
export const chunks = (n: number, size: number): [number, number][] => {
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(n, s + size)]);
  return out;
};
