import type { HostTensor } from "@patchbay/core/tensor";
import { InputError } from "@patchbay/core/errors";
import {
  Intervention,
  type InterventionValues,
  type MetricBinding,
  type MetricKind,
  type Target,
} from "@patchbay/core/engine";
import { Either, ParseResult, Schema } from "effect";

/**
 * An intervention of the Promise API: the engine's intervention spec (what and where, as in
 * `plan({ interventions })`) and its run-time values (what `runPlan` binds) in one object. The
 * formulas are those of the engine (ARCHITECTURE.md, "The intervention engine"):
 *   replace      x′ = x + M ⊙ (value − x)            value: the site's shape [batch, pos, …]
 *   add          x′ = x + M ⊙ value                  value: [last axis] (shape "vector") or the site's shape ("full")
 *   scale        x′ = x + M ⊙ (factor − 1) · x       factor 0: zero ablation
 *   subspace     x′ = x + M ⊙ Rᵀ(mask ⊙ R(source − x))   rotation R [rank, D], source: the site's shape
 *   project-out  x′ = x − M ⊙ (x·Q)Qᵀ                 basis Q [D, rank]
 */
export type InterventionInput =
  | { readonly _tag: "replace"; readonly target: Target; readonly value: HostTensor }
  | {
      readonly _tag: "add";
      readonly target: Target;
      readonly shape: "vector" | "full";
      readonly value: HostTensor;
    }
  | { readonly _tag: "scale"; readonly target: Target; readonly factor: number }
  | {
      readonly _tag: "subspace";
      readonly target: Target;
      readonly rank: number;
      readonly orthogonal?: boolean;
      readonly rotation: HostTensor;
      readonly mask?: Float32Array;
      readonly source: HostTensor;
    }
  | {
      readonly _tag: "project-out";
      readonly target: Target;
      readonly rank: number;
      readonly basis: HostTensor;
    };

/** A metric computed inside the graph: its kind and, per example, positions and answer (and wrong) ids. */
export interface MetricInput extends MetricBinding {
  readonly kind: MetricKind;
}

/** The fields of each kind's spec, and of its run-time values. */
const SPEC_FIELDS: Record<Intervention["_tag"], readonly string[]> = {
  replace: ["_tag", "target"],
  add: ["_tag", "target", "shape"],
  scale: ["_tag", "target"],
  subspace: ["_tag", "target", "rank", "orthogonal"],
  "project-out": ["_tag", "target", "rank"],
};
const VALUE_FIELDS: Record<Intervention["_tag"], readonly (keyof InterventionValues)[]> = {
  replace: ["value"],
  add: ["value"],
  scale: ["factor"],
  subspace: ["rotation", "mask", "source"],
  "project-out": ["basis"],
};

const decodeSpec = Schema.decodeUnknownEither(Intervention, { onExcessProperty: "error" });

/**
 * Split interventions into the plan's specs (decoded by the engine's schema, defaults filled in)
 * and their run-time values. A field the kind does not read is an InputError naming it.
 */
export const splitInterventions = (
  inputs: readonly InterventionInput[],
): { specs: Intervention[]; values: InterventionValues[] } => {
  const specs: Intervention[] = [];
  const values: InterventionValues[] = [];
  inputs.forEach((input, i) => {
    const raw = input as unknown as Record<string, unknown>;
    const tag = raw._tag as Intervention["_tag"];
    const specFields = SPEC_FIELDS[tag];
    if (specFields === undefined)
      throw new InputError({
        field: `interventions[${i}]._tag`,
        expected: `one of ${Object.keys(SPEC_FIELDS).join(", ")}`,
        found: JSON.stringify(raw._tag),
      });
    const valueFields: readonly string[] = VALUE_FIELDS[tag];
    const unknown = Object.keys(raw).filter((k) => !specFields.includes(k) && !valueFields.includes(k));
    if (unknown.length > 0)
      throw new InputError({
        field: `interventions[${i}].${unknown[0]}`,
        expected: `only ${[...specFields, ...valueFields].join(", ")} in a ${tag} intervention`,
        found: "a field it does not read",
      });
    const decoded = decodeSpec(
      Object.fromEntries(specFields.filter((k) => k in raw).map((k) => [k, raw[k]])),
    );
    if (Either.isLeft(decoded))
      throw new InputError({
        field: `interventions[${i}]`,
        expected: `a ${tag} intervention`,
        found: ParseResult.TreeFormatter.formatErrorSync(decoded.left),
      });
    specs.push(decoded.right);
    values.push(Object.fromEntries(valueFields.filter((k) => k in raw).map((k) => [k, raw[k]])));
  });
  return { specs, values };
};

/** A metric's plan field (its kind) and its run-time binding, each empty when there is none. */
export const splitMetric = (
  metric: MetricInput | undefined,
): { spec: { metric?: { kind: MetricKind } }; values: { metric?: MetricBinding } } => {
  if (metric === undefined) return { spec: {}, values: {} };
  const { kind, ...binding } = metric;
  return { spec: { metric: { kind } }, values: { metric: binding } };
};
