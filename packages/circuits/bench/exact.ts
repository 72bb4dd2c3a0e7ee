/**
 * Exact edge patching, timed side by side in one run (used by run.ts):
 *   - downstream-only (exactScores: each row runs from its destination's layer, from the cached
 *     clean stream plus one rank-one difference, block by block, rows sorted by start layer);
 *   - the full edge-masked graph (evaluateMasks with one zero per mask: every row a whole forward
 *     with the [batch, S, D] mask machinery), the path exact patching used before;
 *   - one plain forward on the same examples (metric only), the unit of the cost model.
 * The cost model (FLOPs per edge against a forward): a row into a destination at layer ℓ runs the
 * blocks from ℓ on (the logits run no block) and the unembedding at the metric slots only, so per
 * edge, over the N examples,
 *   cost(u→v) / forward = (Σ_{blocks run} F_block + n·F_unembed) / (L·F_block + P·F_unembed)
 * with F per token: attention 2d(H + 2H_kv)d_h + 2H·d_h·d + 2P·H·d_h (causal scores and mix),
 * MLP 2d·d_mlp·(2 or 3 when gated), unembedding 2d·V. Averaged over the layout's edges this is
 * about one half of a forward (edges into late layers are many and cheap). The clean forward that
 * caches the streams is paid once per call.
 */
import { plan, runPlan } from "@patchbay/core/engine";
import type { EdgeLayout } from "@patchbay/core/edges";
import type { ModelConfig } from "@patchbay/core/model";
import { Effect } from "effect";
import { peakRssMb, timeSideBySide } from "../../core/bench/timing.ts";
import { type EdgeSetup, evaluateMasks, exactScores } from "../src/index.ts";

/** FLOPs per token of one attention sublayer, one MLP sublayer and the unembedding. */
const flopsPerToken = (c: ModelConfig, P: number) => {
  const attn =
    2 * c.dModel * (c.nHeads + 2 * c.nKvHeads) * c.dHead +
    2 * c.nHeads * c.dHead * c.dModel +
    2 * P * c.nHeads * c.dHead;
  const mlp = c.dMlp === null ? 0 : 2 * c.dModel * c.dMlp * (c.gatedMlp ? 3 : 2);
  return { attn, mlp, unembed: 2 * c.dModel * c.vocabSize };
};

/** Per edge, the cost of its rows as a fraction of one forward on the same examples (see above). */
export const exactCostModel = (c: ModelConfig, layout: EdgeLayout, P: number, slots: number) => {
  const f = flopsPerToken(c, P);
  const L = c.nLayers;
  const forward = L * (f.attn + f.mlp) + f.unembed;
  const head = (slots / P) * f.unembed; //                         unembedding at the slots only
  const fraction = (e: number): number => {
    const v = layout.destinations[layout.edges[e]!.destination]!;
    if (v.kind === "logits") return head / forward;
    const l = v.layer!;
    return ((L - l) * (f.attn + f.mlp) + head) / forward;
  };
  const mean = (edges: readonly number[]) => edges.reduce((a, e) => a + fraction(e), 0) / edges.length;
  return { fraction, mean };
};

export interface ExactBench {
  /** edges/s, downstream-only and full edge-masked graph */
  readonly downstream: number;
  readonly fullGraph: number;
  /** seconds of one forward on the setup's examples */
  readonly forward: number;
  /** mean per-edge cost / forward over the timed sample and over every edge */
  readonly modelSample: number;
  readonly modelAll: number;
  /** edges/s the cost model predicts for the timed sample: 1 / (modelSample · forward) */
  readonly predicted: number;
  /** the process's peak RSS (MB) after downstream-only runs, before the other sessions open */
  readonly peakRssDownstream: number;
}

/** Both paths and a forward, interleaved: `nFast` spread edges for downstream-only, `nFull` for the full graph. */
export const benchExact = (setup: EdgeSetup, nFast: number, nFull: number, minRounds = 3, minSeconds = 4) =>
  Effect.gen(function* () {
    const { layout, model, task } = setup;
    const E = layout.edges.length;
    const spread = (k: number) =>
      Array.from({ length: Math.min(k, E) }, (_, i) => Math.floor((i * E) / Math.min(k, E)));
    const fast = spread(nFast);
    const full = spread(nFull);
    const D = layout.destinations.length;
    const masks = full.map((e) => {
      const m = new Float32Array(layout.sources.length * D).fill(1);
      m[layout.edges[e]!.source * D + layout.edges[e]!.destination] = 0;
      return m;
    });
    const plain = plan({ metric: { kind: task.metric }, logits: false });
    const run = <A, E2>(x: Effect.Effect<A, E2>) => Effect.runPromise(x);
    yield* exactScores(setup, fast);
    const peakRssDownstream = peakRssMb();
    const t = yield* Effect.promise(() =>
      timeSideBySide(
        {
          forward: () => run(runPlan(setup.cache, model, plain, task.clean, { metric: setup.binding })),
          downstream: () => run(exactScores(setup, fast)),
          fullGraph: () => run(evaluateMasks(setup, masks)),
        },
        minRounds,
        minSeconds,
      ),
    );
    const slots = Math.max(...task.positions.map((p) => p.length));
    const cost = exactCostModel(model.config, layout, setup.P, slots);
    const modelSample = cost.mean(fast);
    return {
      downstream: fast.length / t.downstream,
      fullGraph: full.length / t.fullGraph,
      forward: t.forward,
      modelSample,
      modelAll: cost.mean(layout.edges.map((e) => e.index)),
      predicted: 1 / (modelSample * t.forward),
      peakRssDownstream,
    } satisfies ExactBench;
  });
