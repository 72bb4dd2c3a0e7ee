import { InputError, type RuntimeError } from "@patchbay/core/errors";
import { Effect } from "effect";
import type { EdgeScores } from "./attribution.ts";
import { rowsPerRun, runRows } from "./masks.ts";
import { type EdgeSetup, higherIsBetter } from "./setup.ts";

/**
 * Exact edge patching, the ground truth EAP approximates:
 *   s(u→v) = L(full graph with u→v ablated) − L(full graph)
 * with L the metric read as a loss (−metric where higher is better; see attribution.ts), so a
 * positive score means the edge matters.
 * Rows (edge, example) run batched through the one edge-masked graph, each row with a single zero
 * in its mask; row 0 of the first run is the full graph. `edges` picks a sample (edge indices);
 * the other scores are NaN.
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
    const { layout, N } = setup;
    const D = layout.destinations.length;
    for (const e of edges)
      if (!(Number.isInteger(e) && e >= 0 && e < layout.edges.length))
        return yield* new InputError({
          field: "edges",
          expected: `edge indices in [0, ${layout.edges.length})`,
          found: String(e),
        });
    // job j = 0 is the full graph, j ≥ 1 removes edges[j − 1]
    const jobs = edges.length + 1;
    const sums = new Float64Array(jobs);
    const chunk = rowsPerRun(setup);
    let runs = 0;
    for (let start = 0; start < jobs * N; start += chunk) {
      const end = Math.min(jobs * N, start + chunk);
      const rows = Array.from({ length: end - start }, (_, r) => (start + r) % N);
      const r = yield* runRows(setup, rows, (i, out) => {
        const j = Math.floor((start + i) / N);
        if (j > 0) {
          const e = layout.edges[edges[j - 1]!]!;
          out[e.source * D + e.destination] = 0;
        }
      });
      r.metric!.perExample.forEach((v, i) => {
        sums[Math.floor((start + i) / N)]! += v;
      });
      runs++;
    }
    const scores = new Float64Array(layout.edges.length).fill(Number.NaN);
    const sign = higherIsBetter(setup.task.metric) ? -1 : 1;
    edges.forEach((e, j) => {
      scores[e] = (sign * (sums[j + 1]! - sums[0]!)) / N;
    });
    return { method: "exact", scores, runs, rows: jobs * N };
  });
