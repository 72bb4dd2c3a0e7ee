/**
 * `pnpm bench`: figures for BENCHMARKS.md, all measured side by side in one run (the machines are
 * noisy 2-core VMs, so ratios within one run are what to compare).
 *   - raw ORT MatMul GFLOP/s (the yardstick);
 *   - forward throughput at batch 8 × 128 for a GPT-2-small-shaped model (random weights) and for
 *     stories260K, with the forward's achieved GFLOP/s as a fraction of the MatMul figure;
 *   - stories260K beside the naive TypeScript reference forward;
 *   - engine: a plan with 10 replacements against the plain forward;
 *   - peak RSS.
 * Writes bench/out/latest.json and prints a markdown table.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Effect } from "effect";
import { type Plan, plan, runPlan } from "../src/engine/index.ts";
import { type ModelConfig, randomWeights, type Weights } from "../src/model/index.ts";
import { siteCatalog, siteShape } from "../src/model/sites.ts";
import { numel } from "../src/tensor/index.ts";
import { gpt2SmallConfig } from "../src/model/index.ts";
import { referenceForward } from "../src/reference/index.ts";
import { forward, makeSessionCache } from "../src/runtime/index.ts";
import { hasSharedModels, sharedModelPath } from "../src/testing/shared.ts";
import { loadModel } from "../src/weights/index.ts";
import { matmulRunner } from "./matmul.ts";
import { peakRssMb, timeSideBySide } from "./timing.ts";

const BATCH = 8;
const POS = 128;
const rows: { name: string; value: string; note: string }[] = [];
const record = (name: string, value: string, note = "") => {
  rows.push({ name, value, note });
  console.log(`${name}: ${value} ${note}`);
};

/** FLOPs of one forward over T = b·p tokens: 2·(matmul params)·T plus attention's 2·2·p·d per token and layer. */
const forwardFlops = (c: ModelConfig, b: number, p: number): number => {
  const T = b * p;
  const d = c.dModel;
  const qkv = d * (c.nHeads + 2 * c.nKvHeads) * c.dHead;
  const out = c.nHeads * c.dHead * d;
  const mlp = c.dMlp === null ? 0 : (c.gatedMlp ? 3 : 2) * d * c.dMlp;
  const attn = 2 * p * c.nHeads * c.dHead; // q·k and pattern·v, per token (full square, as computed)
  return T * (c.nLayers * (2 * (qkv + out + mlp) + 2 * attn) + 2 * d * c.vocabSize);
};

const ids = (c: ModelConfig) =>
  Array.from({ length: BATCH }, (_, b) =>
    Array.from({ length: POS }, (_, p) => (b * 131 + p * 17 + 3) % c.vocabSize),
  );

/** Forward throughput beside the MatMul yardstick, timed interleaved in the same rounds. */
const benchForward = (label: string, c: ModelConfig, w: Weights) =>
  Effect.scoped(
    Effect.gen(function* () {
      const cache = yield* makeSessionCache(label);
      const model = { config: c, weights: w };
      const seqs = ids(c);
      const t0 = performance.now();
      yield* forward(cache, model, seqs);
      record(`${label}: build + compile + first run`, `${((performance.now() - t0) / 1000).toFixed(2)} s`);
      const mm = yield* Effect.promise(() => matmulRunner());
      const t = yield* Effect.promise(() =>
        timeSideBySide({ matmul: mm.run, forward: () => Effect.runPromise(forward(cache, model, seqs)) }),
      );
      yield* Effect.promise(() => mm.release());
      const mmGflops = mm.flops / t.matmul / 1e9;
      const gflops = forwardFlops(c, BATCH, POS) / t.forward / 1e9;
      record(`${label}: ORT MatMul [1024,768]·[768,3072], same rounds`, `${mmGflops.toFixed(1)} GFLOP/s`);
      record(
        `${label}: forward ${BATCH}×${POS}`,
        `${((BATCH * POS) / t.forward).toFixed(0)} tok/s`,
        `(${(t.forward * 1000).toFixed(1)} ms)`,
      );
      record(
        `${label}: forward FLOP rate`,
        `${gflops.toFixed(1)} GFLOP/s`,
        `= ${((100 * gflops) / mmGflops).toFixed(0)}% of the MatMul figure`,
      );
      return { cache, model, seqs, sec: t.forward };
    }),
  );

const main = Effect.gen(function* () {
  // GPT-2-small shape, random weights.
  const g2 = gpt2SmallConfig;
  const gw = randomWeights(g2, 0);
  yield* benchForward("gpt2-small-shaped", g2, gw);

  // Engine: 10 replacements vs the plain forward, interleaved in the same rounds.
  yield* Effect.scoped(
    Effect.gen(function* () {
      const cache = yield* makeSessionCache("engine");
      const model = { config: g2, weights: gw };
      const seqs = ids(g2);
      const sites = Array.from({ length: 10 }, (_, i) => `blocks.${i}.resid_post`);
      const cap = yield* runPlan(cache, model, plan({ captures: sites }), seqs);
      const replaceAll = plan({
        interventions: sites.map((site) => ({ _tag: "replace" as const, target: { site, positions: [5] } })),
      });
      const values = { interventions: sites.map((s) => ({ value: cap.sites.get(s)! })) };
      const t = yield* Effect.promise(() =>
        timeSideBySide({
          plain: () => Effect.runPromise(forward(cache, model, seqs)),
          patched: () => Effect.runPromise(runPlan(cache, model, replaceAll, seqs, values)),
        }),
      );
      record(
        "engine: 10 replacements / plain forward",
        `${(t.patched / t.plain).toFixed(3)}×`,
        "(goal ≤ 1.1×)",
      );

      // Forward + backward (the metric's gradient w.r.t. every layer's attn_out and mlp_out, as EAP
      // needs) against the plain forward, interleaved.
      const gradPlan: Plan = {
        captures: [],
        interventions: [],
        metric: { kind: "logit-diff" },
        gradients: Array.from({ length: g2.nLayers }, (_, l) => [
          { _tag: "site" as const, site: `blocks.${l}.attn_out` },
          { _tag: "site" as const, site: `blocks.${l}.mlp_out` },
        ]).flat(),
        logits: true,
      };
      const metricValues = {
        metric: {
          positions: seqs.map(() => [POS - 1]),
          answers: seqs.map((_, b) => [b + 1]),
          wrong: seqs.map((_, b) => [b + 2]),
        },
      };
      yield* runPlan(cache, model, gradPlan, seqs, metricValues);
      const tg = yield* Effect.promise(() =>
        timeSideBySide({
          plain: () => Effect.runPromise(forward(cache, model, seqs)),
          backward: () => Effect.runPromise(runPlan(cache, model, gradPlan, seqs, metricValues)),
        }),
      );
      record(
        "engine: forward + backward (24 site gradients) / forward",
        `${(tg.backward / tg.plain).toFixed(2)}×`,
        "(goal ≤ 3×)",
      );

      // Memory held by captures: exactly the sites asked for. Bytes returned by a run capturing one
      // attention pattern, against what caching every site (TransformerLens's run_with_cache) holds.
      const one = yield* runPlan(
        cache,
        model,
        plan({ captures: ["blocks.5.attn.pattern"], logits: false }),
        seqs,
      );
      const held = [...one.sites.values()].reduce((s, x) => s + x.data.byteLength, 0);
      const everySite = siteCatalog(g2).reduce(
        (s, info) => s + 4 * numel(siteShape(info, g2, BATCH, POS)),
        0,
      );
      record(
        "engine: bytes held capturing blocks.5.attn.pattern (no logits)",
        `${(held / 2 ** 20).toFixed(1)} MiB`,
        `= 8·12·128·128·4 B exactly; caching every site would hold ${(everySite / 2 ** 30).toFixed(2)} GiB`,
      );
    }),
  );

  if (hasSharedModels) {
    const stories = yield* loadModel(sharedModelPath("stories260K", "stories260K.bin"));
    const s = yield* benchForward("stories260K", stories.config, stories.weights);
    const seqs = ids(stories.config);
    const t0 = performance.now();
    for (const seq of seqs) referenceForward(stories.config, stories.weights, [seq], { sites: [] });
    const naive = (performance.now() - t0) / 1000;
    record(
      "stories260K: naive TypeScript reference",
      `${((BATCH * POS) / naive).toFixed(0)} tok/s`,
      `(ONNX is ${(naive / s.sec).toFixed(0)}× faster)`,
    );
  } else {
    console.warn("../shared/models is absent: stories260K benchmarks skipped");
  }
  record("peak RSS", `${peakRssMb().toFixed(0)} MB`);
});

await Effect.runPromise(main);
mkdirSync(new URL("./out/", import.meta.url), { recursive: true });
writeFileSync(new URL("./out/latest.json", import.meta.url), JSON.stringify(rows, null, 1));
console.log("\n| measure | value | note |\n|---|---|---|");
for (const r of rows) console.log(`| ${r.name} | ${r.value} | ${r.note} |`);
