import { kvSlots } from "@patchbay/core/edges";
import { InputError, type RuntimeError } from "@patchbay/core/errors";
import {
  type CompactSources,
  compactAblated,
  igInputsAttribution,
  mapCompact,
} from "@patchbay/core/patching";
import type { HostTensor } from "@patchbay/core/tensor";
import { Effect } from "effect";
import { addExamples, type EdgeScores, type IgOptions } from "./attribution.ts";
import { DEFAULT_MAX_FLOATS, tileRows } from "./masks.ts";
import { igInputsAblationProblem } from "./options.ts";
import type { EdgeSetup } from "./setup.ts";

/**
 * How EAP-IG over inputs packs its K·N rows (step k, example i) into runs within a float budget.
 * A run holds `steps` steps of `examples` examples. Its working set is estimated as
 *   steps · examples · row + examples · example
 *   row     = P·d·4·L(H + 2H_kv + 1)   forward and backward activations of one row (the fused
 *                                        graph's `copies` = 4 of rowsPerRun)
 *   example = P·d·(S + L(H + 2H_kv + 1)) Δ of every source and the step-summed Ũ, once per example
 * All K steps of an example go in one run when they fit (the graph sums them before the large
 * GEMMs); else one example per run, as many steps as fit.
 */
export interface IgPacking {
  readonly examples: number;
  readonly steps: number;
  readonly rowFloats: number;
  readonly exampleFloats: number;
}

export const igPacking = (
  setup: EdgeSetup,
  K: number,
  maxFloats: number = DEFAULT_MAX_FLOATS,
): IgPacking | InputError => {
  const c = setup.model.config;
  const perDest = c.nLayers * (c.nHeads + 2 * kvSlots(c, setup.layout.granularity) + 1);
  const rowFloats = setup.P * c.dModel * 4 * perDest;
  const exampleFloats = setup.P * c.dModel * (setup.layout.sources.length + perDest);
  if (!(Number.isFinite(maxFloats) && maxFloats >= rowFloats + exampleFloats))
    return new InputError({
      field: "maxFloats",
      expected:
        `a budget of at least ${rowFloats + exampleFloats} floats (one step of one example ` +
        `at ${setup.P} tokens: ${rowFloats} for the row, ${exampleFloats} for the example)`,
      found: String(maxFloats),
    });
  const whole = K * rowFloats + exampleFloats;
  return whole <= maxFloats
    ? { examples: Math.min(setup.N, Math.floor(maxFloats / whole)), steps: K, rowFloats, exampleFloats }
    : { examples: 1, steps: Math.floor((maxFloats - exampleFloats) / rowFloats), rowFloats, exampleFloats };
};

/** The examples `ex` of a compact tensor set [N, P, …], their first `pos` positions each. */
const pickExamples = (z: CompactSources, ex: readonly number[], pos: number): CompactSources => {
  const pick = (t: HostTensor): HostTensor => {
    const [, P, ...rest] = t.shape;
    const per = rest.reduce((a, b) => a * b, 1);
    const out = new Float32Array(ex.length * pos * per);
    ex.forEach((b, i) => {
      out.set(t.data.subarray(b * P! * per, (b * P! + pos) * per), i * pos * per);
    });
    return { data: out, shape: [ex.length, pos, ...rest] };
  };
  return {
    input: pick(z.input),
    attn: z.attn.map(pick),
    mlp: z.mlp.map((m) => (m === null ? null : pick(m))),
  };
};

/**
 * EAP-IG over the input embeddings (Hanna et al. 2024):
 *   s(u→v) = (z′_u − z_u)ᵀ (1/K) Σ_{k=0}^{K−1} ∂metric(e′ + (k/K)(e − e′)) / ∂in_v
 * with z, z′ the clean and corrupted source outputs. Only token embeddings are interpolated
 * (positions are equal), so clean and corrupted examples must have the same length. Resample
 * ablation only: the path from e′ to e never passes through zero or mean source outputs, so other
 * ablations are refused (an InputError naming eap-ig-activations, which takes them all).
 * Implementation: one clean forward gives Δ = z(x) − z(x′) (z(x′) is the setup's resample z′);
 * then runs of (step, example) rows packed within `maxFloats` (igPacking) go through the fused
 * attribution graph in its ig-inputs mode (core's igInputsAttribution), which interpolates the
 * embeddings and sums the steps' gradients in the graph, so a run costs its rows' forward and
 * backward plus one contraction with Δ per example. Every run pads to the dataset's longest example
 * and its gradients come back per example, added in example order, so any budget that holds all K
 * steps of an example gives the same scores bit for bit; one that must cut an example's steps
 * differs only by float32 reassociation. A budget below one row is an InputError naming maxFloats.
 *
 * Returns `{ method, scores, runs, rows }`, one score per layout edge.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eapIgInputs, prepareEdges } from "@patchbay/circuits";
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
 *       return yield* eapIgInputs(setup, { steps: 3 });
 *     }),
 *   ),
 * );
 * assert.equal(r.scores.length, 81);
 * assert.ok(r.scores.every(Number.isFinite));
 * ```
 */
export const eapIgInputs = (
  setup: EdgeSetup,
  opts: IgOptions = {},
): Effect.Effect<EdgeScores, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const K = opts.steps ?? 5;
    const { task, layout, cache, model } = setup;
    const refused = igInputsAblationProblem(task.ablation);
    if (refused !== null) return yield* refused;
    const corrupted = task.corrupted;
    if (corrupted === undefined)
      return yield* new InputError({
        field: "corrupted",
        expected: "corrupted inputs (EAP-IG interpolates clean and corrupted embeddings)",
        found: "nothing",
      });
    if (!(Number.isInteger(K) && K >= 1))
      return yield* new InputError({ field: "steps", expected: "an integer ≥ 1", found: String(K) });
    for (let b = 0; b < setup.N; b++)
      if (corrupted[b]!.length !== task.clean[b]!.length)
        return yield* new InputError({
          field: `corrupted[${b}]`,
          expected: `the clean example's length ${task.clean[b]!.length}`,
          found: `${corrupted[b]!.length} tokens`,
        });
    const packing = igPacking(setup, K, opts.maxFloats);
    if (packing instanceof InputError) return yield* packing;
    // Δ = z(x) − z(x′): the clean run's outputs (resample from the clean inputs themselves) less z′
    const clean = yield* compactAblated(cache, model, layout, "resample", task.clean, {
      corrupted: task.clean,
    });
    const delta = mapCompact([clean, yield* setup.compact], ([z, zPrime]) => z! - zPrime!);
    const scores = new Float64Array(layout.edges.length);
    let runs = 1;
    for (let start = 0; start < setup.N; start += packing.examples) {
      const ex = Array.from({ length: Math.min(packing.examples, setup.N - start) }, (_, i) => start + i);
      const t = tileRows(setup, ex);
      const d = pickExamples(delta, ex, setup.P);
      for (let k0 = 0; k0 < K; k0 += packing.steps) {
        const alphas = Array.from({ length: Math.min(packing.steps, K - k0) }, (_, j) => (k0 + j) / K);
        const r = yield* igInputsAttribution(cache, model, layout, task.metric, {
          clean: t.seqs,
          corrupted: ex.map((b) => corrupted[b]!),
          alphas,
          delta: d,
          binding: t.metric,
          pos: setup.P,
        });
        // the mean over K·N rows, each example's steps added in example order (addExamples)
        addExamples(setup, scores, r.gradients, ex.length, K * setup.N);
        runs++;
      }
    }
    return { method: `eap-ig-inputs(${K})`, scores, runs, rows: setup.N * (K + 1) };
  });
