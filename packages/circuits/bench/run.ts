/**
 * `pnpm bench:circuits` (also run by `pnpm bench`): circuit discovery on the GPT-2-small-shaped
 * model (random weights) and on stories260K, every ratio measured side by side in one run:
 *   - EAP scoring of all edges (the corrupted forward for z′ + one forward-and-backward) against
 *     one plain forward pass (goal ≤ 3.5×), and the forward-and-backward alone;
 *   - EAP-IG over inputs with 5 steps against one forward pass and against 5 × (forward + backward)
 *     (bench/eap-ig.ts; goal ≤ 1.3×);
 *   - exact edge patching, edges per second downstream-only against the full edge-masked graph,
 *     and against its per-edge cost model (bench/exact.ts);
 *   - ACDC wall time and the number of forward passes it used.
 * Writes bench/out/latest.json and prints a markdown table.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { gpt2SmallConfig, type ModelConfig, randomWeights, type Weights } from "@patchbay/core/model";
import { loadModel } from "@patchbay/core/weights";
import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { plan, runPlan } from "@patchbay/core/engine";
import { Effect } from "effect";
import { hasSharedModels, sharedModelPath } from "../../core/src/testing/shared.ts";
import { peakRssMb, timeSideBySide } from "../../core/bench/timing.ts";
import { acdc, eap, eapIgInputs, type EdgeTask, prepareEdges } from "../src/index.ts";
import { benchExact } from "./exact.ts";
import { acdcRow, benchAcdc } from "./acdc.ts";
import { benchEapIg, igRows } from "./eap-ig.ts";

const rows: { name: string; value: string; note: string }[] = [];
const record = (name: string, value: string, note = "") => {
  rows.push({ name, value, note });
  console.log(`${name}: ${value} ${note}`);
};
const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e);

/** N clean/corrupted pairs of length P; logit difference of two ids at the last position. */
const taskFor = (c: ModelConfig, N: number, P: number): EdgeTask => {
  const seq = (k: number) => Array.from({ length: P }, (_, p) => (k * 131 + p * 17 + 3) % c.vocabSize);
  const clean = Array.from({ length: N }, (_, b) => seq(2 * b));
  const corrupted = Array.from({ length: N }, (_, b) => seq(2 * b + 1));
  const positions = clean.map(() => [P - 1]);
  return {
    clean,
    corrupted,
    ablation: "resample",
    metric: "logit-diff",
    positions,
    answers: clean.map((_, b) => [(b + 1) % c.vocabSize]),
    wrong: clean.map((_, b) => [(b + 2) % c.vocabSize]),
  };
};

const sec = (s: number) => (s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(1)} ms`);

const benchModel = (label: string, c: ModelConfig, w: Weights, opts: { acdc: boolean }) =>
  Effect.scoped(
    Effect.gen(function* () {
      const cache: SessionCache = yield* makeSessionCache(label);
      const model = { config: c, weights: w };
      const task = taskFor(c, 8, 128);
      const plain = plan({ metric: { kind: "logit-diff" }, logits: false });
      const binding = { positions: task.positions, answers: task.answers!, wrong: task.wrong! };
      const forward = () => run(runPlan(cache, model, plain, task.clean, { metric: binding }));
      const t0 = performance.now();
      const setup = yield* prepareEdges(cache, model, task);
      yield* eap(setup);
      record(
        `${label}: edges`,
        `${setup.layout.edges.length}`,
        `${setup.layout.sources.length} sources × ${setup.layout.destinations.length} destinations`,
      );
      record(`${label}: edge graph build + compile + first EAP`, sec((performance.now() - t0) / 1000));
      yield* eapIgInputs(setup, { steps: 5 });
      const t = yield* Effect.promise(() =>
        timeSideBySide(
          {
            forward,
            eapTotal: () => run(Effect.flatMap(prepareEdges(cache, model, task), eap)),
            eapBackward: () => run(eap(setup)),
          },
          3,
          4,
        ),
      );
      record(`${label}: one forward 8×128 (metric only)`, sec(t.forward));
      record(
        `${label}: EAP, all edges (corrupted forward + forward/backward) / forward`,
        `${(t.eapTotal / t.forward).toFixed(2)}×`,
        `(${sec(t.eapTotal)}; goal ≤ 3.5×)`,
      );
      record(
        `${label}: EAP forward/backward alone / forward`,
        `${(t.eapBackward / t.forward).toFixed(2)}×`,
        `(${sec(t.eapBackward)})`,
      );
      for (const r of igRows(label, yield* benchEapIg(setup, 5), sec)) record(r.name, r.value, r.note);
    }),
  ).pipe(
    // the 8 × 128 sessions are released before the exact methods open theirs (one process holding
    // every method's sessions at GPT-2 scale ran out of the machine's 23 GB)
    Effect.andThen(benchExactMethods(label, c, w, opts)),
  );

const benchExactMethods = (label: string, c: ModelConfig, w: Weights, opts: { acdc: boolean }) =>
  Effect.scoped(
    Effect.gen(function* () {
      const cache: SessionCache = yield* makeSessionCache(`${label}-exact`);
      const model = { config: c, weights: w };
      // Exact patching on a smaller batch (2 examples × 32 tokens), side by side: downstream-only
      // rows (256 edges spread over the layout) against the full edge-masked graph (16 edges), and
      // one forward on the same examples, the unit of the per-edge cost model (bench/exact.ts).
      const small = yield* prepareEdges(cache, model, taskFor(c, 2, 32));
      const x = yield* benchExact(small, 256, 16);
      record(
        `${label}: exact patching, edges/s (2 examples × 32 tokens), downstream-only`,
        `${x.downstream.toFixed(1)}`,
        `full edge-masked graph: ${x.fullGraph.toFixed(1)} edges/s (downstream-only is ${(x.downstream / x.fullGraph).toFixed(2)}× faster); goal ≥ 20`,
      );
      record(
        `${label}: exact patching cost model, per edge / forward (2 × 32)`,
        `${x.modelSample.toFixed(3)}`,
        `all edges: ${x.modelAll.toFixed(3)}; forward ${sec(x.forward)} ⇒ predicted ${x.predicted.toFixed(1)} edges/s, measured ${((100 * x.downstream) / x.predicted).toFixed(0)}% of it`,
      );

      if (opts.acdc) {
        const acdcSetup = yield* prepareEdges(cache, model, { ...taskFor(c, 4, 32), metric: "kl" });
        const ta = performance.now();
        const r = yield* acdc(acdcSetup, { tau: 0.01 });
        const wall = (performance.now() - ta) / 1000;
        const kept = r.inGraph.reduce((a, b) => a + b, 0);
        record(
          `${label}: ACDC (KL, τ = 0.01, 4 examples × 32 tokens)`,
          sec(wall),
          `${r.forwardPasses} forward passes (masks evaluated) in ${r.runs} runs; serial ACDC would run ${r.serialTests}; kept ${kept} of ${acdcSetup.layout.edges.length} edges`,
        );
      }
    }),
  );

const main = Effect.gen(function* () {
  const only = process.env.BENCH_ONLY; // "gpt2" or "stories" to run one model; "acdc": GPT-2 ACDC alone
  if (only === "acdc") {
    const model = { config: gpt2SmallConfig, weights: randomWeights(gpt2SmallConfig, 0) };
    const r = acdcRow(
      "gpt2-small-shaped",
      yield* benchAcdc(model, { ...taskFor(gpt2SmallConfig, 4, 32), metric: "kl" }),
    );
    return record(r.name, r.value, r.note);
  }
  if (only !== "stories")
    yield* benchModel("gpt2-small-shaped", gpt2SmallConfig, randomWeights(gpt2SmallConfig, 0), {
      acdc: false,
    });
  if (only === "gpt2") {
    record("peak RSS", `${peakRssMb().toFixed(0)} MB`);
    return;
  }
  if (hasSharedModels) {
    const stories = yield* loadModel(sharedModelPath("stories260K", "stories260K.bin"));
    yield* benchModel("stories260K", stories.config, stories.weights, { acdc: true });
  } else console.warn("../shared/models is absent: stories260K circuit benchmarks skipped");
  record("peak RSS", `${peakRssMb().toFixed(0)} MB`);
});

await Effect.runPromise(main);
mkdirSync(new URL("./out/", import.meta.url), { recursive: true });
writeFileSync(new URL("./out/latest.json", import.meta.url), JSON.stringify(rows, null, 1));
console.log("\n| measure | value | note |\n|---|---|---|");
for (const r of rows) console.log(`| ${r.name} | ${r.value} | ${r.note} |`);
