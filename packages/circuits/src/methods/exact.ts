import type { InputError, RuntimeError } from "@patchbay/core/errors";
import { exactEdgePatching } from "@patchbay/core/patching";
import { Effect } from "effect";
import type { EdgeScores } from "./attribution.ts";
import { type EdgeSetup, higherIsBetter } from "./setup.ts";

/**
 * Exact edge patching, the ground truth EAP approximates:
 *   s(u→v) = L(full graph with u→v ablated) − L(full graph)
 * with L the metric read as a loss (−metric where higher is better; see attribution.ts), so a
 * positive score means the edge matters.
 * Each (edge, example) row runs only from its destination's layer onwards, from the clean run's
 * residual stream with the one rank-one difference Δ_u added to the destination's input
 * (@patchbay/core/patching exactEdgePatching): the same scores as the edge-masked graph with a
 * single zero in the mask, at about half a forward per row. `edges` picks a sample (edge
 * indices); the other scores are NaN.
 *
 * Returns `{ method, scores, runs, rows }`; edges not asked for score NaN.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exactScores, prepareEdges } from "@patchbay/circuits";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = inductionModel({ attnLogit: 4 }); // the compiled induction model: 81 edges
 * const task = { ...inductionTask(1, 4, { blockLen: 8 }), ablation: "resample", metric: "logit-diff" } as const;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const setup = yield* prepareEdges(yield* makeSessionCache("doc", { threads: 1 }), model, task);
 *       const i = setup.layout.edges.findIndex((e) => e.name === "a1.h2->logits");
 *       const j = setup.layout.edges.findIndex((e) => e.name === "a0.h0->logits");
 *       const s = (yield* exactScores(setup, [i, j])).scores;
 *       return [s[i]!, s[j]!];
 *     }),
 *   ),
 * );
 * const [induction, other] = r;
 * assert.ok(induction > other); // cutting the induction head's output hurts more
 * ```
 */
export const exactScores = (
  setup: EdgeSetup,
  edges: readonly number[] = setup.layout.edges.map((e) => e.index),
): Effect.Effect<EdgeScores, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const { layout, N, task } = setup;
    const r = yield* exactEdgePatching(
      setup.cache,
      setup.model,
      layout,
      task.metric,
      task.clean,
      yield* setup.ablated,
      setup.binding,
      edges,
    );
    const cleanMean = r.clean.reduce((a, x) => a + x, 0) / N;
    const scores = new Float64Array(layout.edges.length).fill(Number.NaN);
    const sign = higherIsBetter(task.metric) ? -1 : 1;
    edges.forEach((e, j) => {
      let sum = 0;
      for (let b = 0; b < N; b++) sum += r.patched[j * N + b]!;
      scores[e] = sign * (sum / N - cleanMean);
    });
    return { method: "exact", scores, runs: r.runs, rows: (edges.length + 1) * N };
  });
