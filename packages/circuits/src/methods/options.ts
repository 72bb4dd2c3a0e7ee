import type { EdgeAblation } from "@patchbay/core/patching";
import { InputError } from "@patchbay/core/errors";

/**
 * Every option of a discovery either changes its result or is refused: these are the
 * combinations a method would otherwise ignore. One rule each, used by `discover`, by the method
 * functions themselves, by the schemas (Method, and the experiment file's cell) and by the CLI.
 *
 *   eap-ig-inputs × ablation ≠ resample   EAP-IG over inputs integrates along the straight line
 *       between the corrupted and the clean input embeddings, and z′ is the source outputs at its
 *       corrupted end; no point of that path gives zero or mean source outputs, so zero / mean /
 *       mean-positional would silently be resample (the EAP-IG reference refuses it too). Over
 *       activations the baseline is z′ itself, so every ablation works there.
 *   acdc × selection                     ACDC decides its circuit itself (by τ).
 *   acdc seed ≠ 0 × order ≠ random        the seed only shuffles the parent order.
 *   checkSeed ≠ 0 × checkSample = 0       the seed only draws the sample checked against exact.
 * Options a method reads by construction live inside its tag (steps, tau, order, absolute, and
 * eap's and eap-ig-inputs' run budgets maxFloats, validated by the method against one row), so the
 * schema already refuses them elsewhere (unknown fields are errors in experiment files).
 */

/**
 * EAP-IG over inputs takes resample ablation only (see above).
 *
 * Returns an InputError, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { igInputsAblationProblem } from "@patchbay/circuits";
 *
 * assert.equal(igInputsAblationProblem("resample"), null);
 * assert.equal(igInputsAblationProblem("mean")?._tag, "InputError");
 * ```
 */
export const igInputsAblationProblem = (ablation: EdgeAblation): InputError | null =>
  ablation === "resample"
    ? null
    : new InputError({
        field: "ablation",
        expected:
          "resample with method eap-ig-inputs (it interpolates between the clean and the corrupted input embeddings, " +
          "which never gives zero or mean source outputs); zero, mean and mean-positional ablation work with " +
          "eap-ig-activations, whose integration baseline is the ablated z′",
        found: JSON.stringify(ablation),
      });

/**
 * ACDC's seed without a random parent order.
 *
 * Returns an InputError, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acdcSeedProblem } from "@patchbay/circuits";
 *
 * assert.equal(acdcSeedProblem({ order: "random", seed: 3 }), null);
 * assert.equal(acdcSeedProblem({ order: "normal", seed: 3 })?.field, "method.seed");
 * ```
 */
export const acdcSeedProblem = (m: { readonly order: string; readonly seed: number }): InputError | null =>
  m.order === "random" || m.seed === 0
    ? null
    : new InputError({
        field: "method.seed",
        expected: `0 unless method.order is random (the seed only shuffles the parent order; order is ${m.order})`,
        found: String(m.seed),
      });

export interface DiscoveryOptions {
  readonly method: { readonly _tag: string; readonly order?: string; readonly seed?: number };
  readonly selection?: { readonly _tag: string } | undefined;
  readonly checkSample?: number;
  readonly checkSeed?: number;
}

/**
 * The first option of a discovery that its method would ignore, as an InputError; null if none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { discoveryProblem } from "@patchbay/circuits";
 *
 * assert.equal(discoveryProblem({ method: { _tag: "eap" } }, "zero"), null);
 * assert.equal(discoveryProblem({ method: { _tag: "eap-ig-inputs" } }, "zero")?.field, "ablation");
 * ```
 */
export const discoveryProblem = (spec: DiscoveryOptions, ablation: EdgeAblation): InputError | null => {
  const m = spec.method;
  if (m._tag === "eap-ig-inputs") {
    const p = igInputsAblationProblem(ablation);
    if (p !== null) return p;
  }
  if (m._tag === "acdc") {
    if (spec.selection !== undefined)
      return new InputError({
        field: "selection",
        expected: "no selection with method acdc (ACDC decides its circuit itself, by τ)",
        found: JSON.stringify(spec.selection._tag),
      });
    const p = acdcSeedProblem({ order: m.order ?? "normal", seed: m.seed ?? 0 });
    if (p !== null) return p;
  }
  if ((spec.checkSample ?? 64) === 0 && (spec.checkSeed ?? 0) !== 0)
    return new InputError({
      field: "checkSeed",
      expected: "0 when checkSample is 0 (the seed draws the edges checked against exact patching)",
      found: String(spec.checkSeed),
    });
  return null;
};
