import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import { forward, type SessionCache } from "@patchbay/core/runtime";
import type { HostTensor } from "@patchbay/core/tensor";
import { type Intervention, type InterventionValues, interchangePatch } from "@patchbay/core/engine";
import { lookupSite, siteShape } from "@patchbay/core/sites";
import type { Model, ModelConfig } from "@patchbay/core/model";
import { Effect } from "effect";
import { locate } from "../alignment/locate.ts";
import { type Alignment, isDims, isRotation } from "../alignment/schema.ts";
import type { CounterfactualExample } from "../model/counterfactuals.ts";
import { CausalError, fail, show } from "../model/errors.ts";
import type { CausalTask } from "../task/task.ts";

/** Learned subspaces bound at run time, per aligned variable: R [k, D] and the mask m [k]. */
export type Rotations = Readonly<
  Record<string, { readonly rotation: HostTensor; readonly mask?: Float32Array }>
>;

/**
 * One batch of interchange interventions as engine interventions and their run-time values.
 * For alignment entry a (variable v at site S, positions π, subspace):
 *   source run: capture S on the prompt of the source whose group holds v
 *   base run:   S[b, π_base(b)] ← per the subspace, from S_source[b, π_source(b)]
 *     full      replace the whole vector          x′ = s
 *     dims      replace coordinates D             x′ = x + 1_D ⊙ (s − x)
 *     rotation  replace the first k rotated dims  x′ = x + Rᵀ(m ⊙ (R s − R x))   (DAS)
 * Positions are located per example on each prompt (base and source may differ in layout). An
 * entry whose variable the example's family does not move gets no positions (no intervention).
 */
export interface InterchangeBatch {
  readonly interventions: Intervention[];
  readonly values: InterventionValues[];
  /** [batch][len_b] base prompts */
  readonly baseIds: number[][];
  /** [batch] the position the prediction is read at */
  readonly readout: number[];
  /** [batch] the counterfactual label's token id */
  readonly labels: number[];
  /** [batch] the base label's token id */
  readonly baseLabels: number[];
}

/**
 * Builds one batch of interchange interventions: the engine interventions and their values, the base prompts, the readout positions and the labels (`{ interventions, values, baseIds, readout, labels, baseLabels }`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { counterfactuals, familyOf, inductionAlignments, inductionCausalTask, interchangeBatch } from "@patchbay/causal";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { Effect } from "effect";
 *
 * const { task, network, vocabSize, blockLen } = inductionCausalTask();
 * const align = inductionAlignments(vocabSize, blockLen);
 * const data = counterfactuals(task.model, familyOf(task, "query"), { n: 4, seed: 1 });
 * const batch = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       interchangeBatch(cache, network(), task, align.query, data),
 *     ),
 *   ),
 * );
 * assert.equal(batch.baseIds.length, 4);
 * assert.equal(batch.labels.length, 4);
 * ```
 */
export const interchangeBatch = (
  cache: SessionCache,
  model: Model,
  task: CausalTask,
  alignment: Alignment,
  examples: readonly CounterfactualExample[],
  rotations: Rotations = {},
): Effect.Effect<InterchangeBatch, CausalError | InputError | RuntimeError> =>
  Effect.gen(function* () {
    const where = `causal task ${task.name}`;
    const prep = yield* attempt(
      () => prepare(model.config, task, alignment, examples, rotations),
      CausalError,
      InputError,
    );
    const interventions: Intervention[] = [];
    const values: InterventionValues[] = [];
    for (const [a, entry] of alignment.entries()) {
      const p = prep.entries[a]!;
      // one source forward per entry: example b's source is the one whose group holds the variable
      const srcIds = examples.map((_, b) =>
        p.group[b]! >= 0 ? prep.sourceIds[b]![p.group[b]!]! : prep.baseIds[b]!,
      );
      const src = yield* forward(cache, model, srcIds, [entry.site]);
      const captured = src.sites.get(entry.site)!;
      const value = yield* attempt(
        () => interchangePatch(p.baseShape, captured, p.basePos, p.sourcePos),
        InputError,
      );
      const target = {
        site: entry.site,
        positions: p.basePos,
        ...(entry.heads !== undefined ? { heads: entry.heads } : {}),
      };
      const sub = entry.subspace;
      if (isRotation(sub)) {
        const r = rotations[entry.variable];
        if (r === undefined)
          return yield* new CausalError({
            where,
            field: `alignment[${a}].subspace`,
            expected: `a rotation for variable ${entry.variable} (from DAS or a saved artifact)`,
            found: "none given",
          });
        interventions.push({ _tag: "subspace", target, rank: sub.rank, orthogonal: true });
        values.push({
          rotation: r.rotation,
          source: value,
          ...(r.mask !== undefined ? { mask: r.mask } : {}),
        });
      } else {
        interventions.push({
          _tag: "replace",
          target: isDims(sub) ? { ...target, dims: [...sub.dims] } : target,
        });
        values.push({ value });
      }
    }
    return {
      interventions,
      values,
      baseIds: prep.baseIds,
      readout: prep.readout,
      labels: prep.labels,
      baseLabels: prep.baseLabels,
    };
  });

interface Prepared {
  readonly baseIds: number[][];
  readonly sourceIds: number[][][];
  readonly readout: number[];
  readonly labels: number[];
  readonly baseLabels: number[];
  readonly entries: {
    readonly group: number[];
    readonly basePos: number[][];
    readonly sourcePos: number[][];
    readonly baseShape: number[];
  }[];
}

const prepare = (
  c: ModelConfig,
  task: CausalTask,
  alignment: Alignment,
  examples: readonly CounterfactualExample[],
  rotations: Rotations,
): Prepared => {
  const where = `causal task ${task.name}`;
  if (examples.length === 0) fail(where, "examples", "at least one counterfactual example", "none");
  if (alignment.length === 0) fail(where, "alignment", "at least one aligned variable", "[]");
  // a rotation no entry reads would be silently unused
  for (const v of Object.keys(rotations))
    if (!alignment.some((a) => a.variable === v && isRotation(a.subspace)))
      fail(
        where,
        `rotations.${v}`,
        `a rotation only for a variable aligned with subspace {rank} (${
          alignment
            .filter((a) => isRotation(a.subspace))
            .map((a) => a.variable)
            .join(", ") || "none is"
        })`,
        show(v),
      );
  const encode = (s: CounterfactualExample["base"], field: string): number[] => {
    const ids = [...task.encode(s)];
    if (ids.length === 0) fail(where, field, "a non-empty prompt", "[]");
    return ids;
  };
  const baseIds = examples.map((e, b) => encode(e.base, `examples[${b}].base`));
  const sourceIds = examples.map((e, b) =>
    e.sources.map((s, g) => encode(s, `examples[${b}].sources[${g}]`)),
  );
  const P = Math.max(...baseIds.map((x) => x.length));
  const readout = baseIds.map((ids, b) =>
    locate(task.readout ?? "last", ids, where, `examples[${b}] readout`),
  );
  const token = (v: CounterfactualExample["label"], field: string): number => {
    const id = task.label(v);
    if (!(Number.isInteger(id) && id >= 0 && id < c.vocabSize))
      fail(where, field, `a token id in [0, ${c.vocabSize})`, show(id));
    return id;
  };
  const labels = examples.map((e, b) => token(e.label, `examples[${b}].label`));
  const baseLabels = examples.map((e, b) => token(e.baseLabel, `examples[${b}].baseLabel`));
  // every moved variable is aligned (otherwise the network is not asked to implement it)
  examples.forEach((e, b) => {
    e.variables.forEach((g, gi) => {
      for (const v of g) {
        if (!alignment.some((a) => a.variable === v))
          fail(
            where,
            `examples[${b}].variables[${gi}]`,
            "every interchanged variable aligned to a site",
            show(v),
          );
      }
    });
  });
  const entries = alignment.map((entry, a) => {
    const info = lookupSite(c, entry.site);
    if (!info.ok)
      return fail(
        where,
        `alignment[${a}].site`,
        `a site of ${c.name} (nearest: ${info.suggestions.join(", ")})`,
        show(entry.site),
      );
    const dims = info.site.dims;
    if (dims[0] !== "batch" || dims[1] !== "pos")
      fail(
        where,
        `alignment[${a}].site`,
        "a site of shape [batch, pos, …]",
        `${entry.site} [${dims.join(", ")}]`,
      );
    const baseShape = siteShape(info.site, c, examples.length, P);
    const D = baseShape[baseShape.length - 1]!;
    const sub = entry.subspace;
    if (isDims(sub))
      sub.dims.forEach((d, j) => {
        if (d >= D) fail(where, `alignment[${a}].subspace.dims[${j}]`, `an index in [0, ${D})`, String(d));
      });
    if (isRotation(sub)) {
      const r = rotations[entry.variable];
      if (r !== undefined && (r.rotation.shape[0] !== sub.rank || r.rotation.shape[1] !== D))
        fail(
          where,
          `rotations.${entry.variable}`,
          `R of shape [${sub.rank}, ${D}] (rank × last axis of ${entry.site})`,
          `[${r.rotation.shape.join(", ")}]`,
        );
    }
    const group = examples.map((e) => e.variables.findIndex((g) => g.includes(entry.variable)));
    const basePos = examples.map((_, b) =>
      group[b]! < 0
        ? []
        : entry.positions.map((s, j) =>
            locate(s, baseIds[b]!, where, `alignment[${a}].positions[${j}] in example ${b} (base)`),
          ),
    );
    const sourcePos = examples.map((_, b) =>
      group[b]! < 0
        ? []
        : entry.positions.map((s, j) =>
            locate(
              s,
              sourceIds[b]![group[b]!]!,
              where,
              `alignment[${a}].positions[${j}] in example ${b} (source)`,
            ),
          ),
    );
    return { group, basePos, sourcePos, baseShape };
  });
  return { baseIds, sourceIds, readout, labels, baseLabels, entries };
};
