import { Effect } from "effect";
import { expect } from "vitest";
import { ablatedSources, fullMask } from "@patchbay/core/patching";
import { type Edge, edgeLayout, maskIndex } from "@patchbay/core/edges";
import { forward, makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import type { HostTensor } from "@patchbay/core/tensor";
import type { Model } from "@patchbay/core/model";
import { type Plan, plan, runPlan } from "@patchbay/core/engine";
import { referenceForward } from "@patchbay/core/reference";
import { worstMismatch } from "../../core/src/testing/compare.ts";
import type { InductionTask } from "./induction.ts";

/** Test helpers shared by the compiled zoo models' tests (induction, reverse, frac_prevs). */

/** Runs `f` with a scoped session cache named `name`, as a promise. */
export const cacheRunner =
  (name: string) =>
  <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>): Promise<A> =>
    Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache(name), f)));

/**
 * The float64 reference agrees with ORT on `seqs`, and the model without its random distractors
 * gives the same logits (the distractors are irrelevant).
 */
export const expectReferenceAgrees = async (
  session: string,
  model: Model,
  plain: Model,
  seqs: readonly (readonly number[])[],
): Promise<void> => {
  const ort = await cacheRunner(session)((cache) => forward(cache, model, seqs));
  const ref = referenceForward(model.config, model.weights, seqs);
  expect(worstMismatch(ort.logits.data, ref.logits.data, 1e-4, 1e-4)).toBeNull();
  const ref0 = referenceForward(plain.config, plain.weights, seqs);
  expect(worstMismatch(ref0.logits.data, ref.logits.data, 1e-12, 0)).toBeNull();
};

const edgePlan: Plan = plan({
  logits: false,
  edges: { granularity: "head" },
  metric: { kind: "logit-diff" },
});

export interface GroundTruthCheckOptions {
  readonly ablation: "resample" | "zero";
  /** Session cache name. */
  readonly session: string;
  /** Prefix of the logged summary line. */
  readonly label: string;
}

export interface GroundTruthCheck {
  /** m(full), m(∅) and range = m(full) − m(∅). */
  readonly full: number;
  readonly none: number;
  readonly range: number;
  /** f(truth) and per example. */
  readonly faithfulness: number;
  readonly perExample: readonly number[];
  /** f without each truth edge. */
  readonly dropped: Readonly<Record<string, number>>;
  /** m(without each truth edge) / m(full). */
  readonly kept: Readonly<Record<string, number>>;
  /** The non-truth edge whose removal moves m most. */
  readonly worstOther: { readonly name: string; readonly delta: number };
}

/**
 * The exact checks of a ground truth at head granularity: with faithfulness
 * f(C) = (m(C) − m(∅)) / (m(full) − m(∅)) (m = mean logit difference, ∅ = every edge ablated):
 *   (a) f(ground truth) ≈ 1, per example too;
 *   (b) removing any one ground-truth edge drops f by ≥ 0.4 and loses ≥ 80% of m(full);
 *   (c) removing any one other edge changes m by ~0.
 */
export const checkGroundTruth = (
  model: Model,
  task: InductionTask,
  truthEdges: readonly string[],
  opts: GroundTruthCheckOptions,
): Promise<GroundTruthCheck> =>
  cacheRunner(opts.session)((cache) =>
    Effect.gen(function* () {
      const { ablation } = opts;
      const layout = edgeLayout(model.config, "head");
      const S = layout.sources.length;
      const D = layout.destinations.length;
      const B = task.clean.length;
      const truth = new Set(truthEdges);
      const names = new Set(layout.edges.map((e) => e.name));
      for (const t of truth) expect(names.has(t), t).toBe(true);
      const ablated = yield* ablatedSources(cache, model, layout, ablation, task.clean, {
        corrupted: task.corrupted,
      });
      const maskOf = (keep: (e: Edge) => boolean): HostTensor => {
        const m = fullMask(layout, B, 0);
        for (const e of layout.edges)
          if (keep(e)) for (let b = 0; b < B; b++) m.data[b * S * D + maskIndex(layout, e)] = 1;
        return m;
      };
      const run = (mask: HostTensor) =>
        Effect.map(
          runPlan(cache, model, edgePlan, task.clean, { edges: { mask, ablated }, metric: task }),
          (r) => r.metric!,
        );
      const full = yield* run(fullMask(layout, B, 1));
      const none = yield* run(fullMask(layout, B, 0));
      const range = full.mean - none.mean;
      const gt = yield* run(maskOf((e) => truth.has(e.name)));
      const perExample = [...gt.perExample].map(
        (x, b) => (x - none.perExample[b]!) / (full.perExample[b]! - none.perExample[b]!),
      );
      const dropped: Record<string, number> = {}; // f without the edge
      const kept: Record<string, number> = {}; //    m(without the edge) / m(full)
      let worstOther = { name: "", delta: 0 };
      for (const e of layout.edges) {
        const r = yield* run(maskOf((x) => x.index !== e.index));
        if (truth.has(e.name)) {
          dropped[e.name] = (r.mean - none.mean) / range;
          kept[e.name] = r.mean / full.mean;
        } else if (Math.abs(r.mean - full.mean) >= Math.abs(worstOther.delta))
          worstOther = { name: e.name, delta: r.mean - full.mean };
      }
      const f = (gt.mean - none.mean) / range;
      console.log(
        `${opts.label}: ${layout.edges.length} edges, m(full) ${full.mean.toFixed(4)}, m(∅) ${none.mean.toFixed(4)}, ` +
          `f(truth) ${f.toFixed(6)} [per example ${Math.min(...perExample).toFixed(6)}…${Math.max(...perExample).toFixed(6)}]; ` +
          `f without one truth edge: ${Object.entries(dropped)
            .map(([k, v]) => `${k} ${v.toFixed(4)} (m/m(full) ${kept[k]!.toFixed(4)})`)
            .join(
              ", ",
            )}; largest |Δm| without a non-truth edge ${Math.abs(worstOther.delta).toExponential(2)} (${worstOther.name})`,
      );
      expect(Math.abs(range)).toBeGreaterThan(1);
      expect(Math.abs(f - 1)).toBeLessThan(0.02);
      for (const x of perExample) expect(Math.abs(x - 1)).toBeLessThan(0.02);
      expect(Object.keys(dropped).length).toBe(truth.size);
      // each truth edge is necessary: f falls by ≥ 0.4 and ≥ 80% of the logit difference is lost
      for (const [name, v] of Object.entries(dropped)) expect(v, name).toBeLessThan(0.6);
      for (const [name, v] of Object.entries(kept)) expect(v, name).toBeLessThan(0.2);
      expect(Math.abs(worstOther.delta) / Math.abs(range), worstOther.name).toBeLessThan(1e-3);
      return {
        full: full.mean,
        none: none.mean,
        range,
        faithfulness: f,
        perExample,
        dropped,
        kept,
        worstOther,
      } satisfies GroundTruthCheck;
    }),
  );
