import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import {
  compareToTruth,
  type Discovered,
  type Discovery,
  discover,
  type EdgeSetup,
  prepareEdges,
  toMibJson,
  toSvg,
  type TruthComparison,
} from "@patchbay/circuits";
import { openModel } from "@patchbay/core";
import { builtinCircuit, taskFor } from "@patchbay/zoo";
import { type Flags, intFlag } from "@patchbay/core/cli";
import { Effect } from "effect";
import { cellResultFromDiscovery, renderRunReport } from "../report/index.ts";
import type { CausalCellResult } from "../results/types.ts";
import { runCausalCell } from "../run/causal-cell.ts";
import type { CausalCellSpec, CausalMethod } from "../spec/causal.ts";

/**
 * The main job: discover the circuit of a built-in model whose circuit is known (the compiled
 * induction model: previous-token head a0.h1 → induction head a1.h2 by K-composition), with EAP,
 * EAP-IG, ACDC and exact patching, and print each against the ground truth: edges found,
 * precision, recall, ROC AUC, faithfulness and its spread. Writes the circuits as EAP-IG/MIB JSON
 * and SVG, and one self-contained HTML report of all four, under out/demo/. Nothing is downloaded: the model is built from code on first use.
 */
const MODEL = "builtin:induction";
const OUT = "out/demo";

const methods: readonly Discovery[] = [
  {
    method: { _tag: "eap" },
    selection: { _tag: "faithful", target: 0.9, absolute: true },
    checkSample: 81,
    checkSeed: 0,
  },
  {
    method: { _tag: "eap-ig-inputs", steps: 5 },
    selection: { _tag: "faithful", target: 0.9, absolute: true },
    checkSample: 81,
    checkSeed: 0,
  },
  {
    method: { _tag: "acdc", tau: 0.5, order: "normal", seed: 0, absolute: false },
    checkSample: 0,
    checkSeed: 0,
  },
  {
    method: { _tag: "exact" },
    selection: { _tag: "faithful", target: 0.9, absolute: true },
    checkSample: 0,
    checkSeed: 0,
  },
];

const fmt = (x: number | undefined | null, d = 3) =>
  x === undefined || x === null || !Number.isFinite(x) ? "—" : x.toFixed(d);

const row = (cells: readonly string[], widths: readonly number[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");

export const demoCommand = (f: Flags) =>
  Effect.scoped(
    Effect.gen(function* () {
      const seed = intFlag(f, "seed", 0);
      const n = intFlag(f, "n", 32, 1);
      const t0 = performance.now();
      const model = yield* openModel(MODEL);
      // corrupt the first block only ([BOS, B, A]): the induction head must find A's earlier
      // occurrence through the previous-token head, so every edge of the mechanism is visible
      const truthEdges = builtinCircuit(MODEL).variants["resample/first"]!;
      console.log(
        `patchbay demo: ${MODEL} — ${model.config.nLayers} layers × ${model.config.nHeads} heads, d_model ${model.config.dModel} (built from code, cached; ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
      const task = taskFor(MODEL, { seed, n, options: { corrupt: "first" } });
      const setup: EdgeSetup = yield* prepareEdges(model.sessions, model, {
        ...task,
        ablation: "resample",
        metric: "logit-diff",
      });
      console.log(
        `task: ${n} clean/corrupted pairs [BOS, A, A] vs [BOS, B, A] (seed ${seed}); metric: logit difference of the repeated token; resample ablation; ${setup.layout.edges.length} edges`,
      );
      console.log(`ground truth (${truthEdges.length} edges): ${truthEdges.join(", ")}\n`);

      const results: { r: Discovered; t: TruthComparison }[] = [];
      for (const spec of methods) {
        const r = yield* discover(setup, spec);
        results.push({ r, t: compareToTruth(setup.layout, r.inGraph, r.scores, truthEdges) });
      }
      const widths = [26, 6, 8, 9, 7, 8, 14, 9, 7, 8];
      console.log(
        row(
          [
            "method",
            "edges",
            "correct",
            "precision",
            "recall",
            "ROC AUC",
            "faithfulness",
            "spread",
            "ρ exact",
            "time",
          ],
          widths,
        ),
      );
      for (const { r, t } of results) {
        const s = r.evaluation.perExample;
        console.log(
          row(
            [
              r.method,
              String(t.found),
              String(t.correct),
              fmt(t.precision),
              fmt(t.recall),
              fmt(t.auc),
              fmt(r.evaluation.faithfulness),
              `${fmt(s.min, 2)}–${fmt(s.max, 2)}`,
              fmt(r.check?.spearman),
              `${r.seconds.toFixed(2)} s`,
            ],
            widths,
          ),
        );
      }
      const acdc = results.find((x) => x.r.method.startsWith("acdc"))!;
      console.log(`\nACDC's circuit against the ground truth:`);
      setup.layout.edges.forEach((e, i) => {
        const inTruth = truthEdges.includes(e.name);
        if (acdc.r.inGraph[i] || inTruth)
          console.log(`  ${acdc.r.inGraph[i] ? (inTruth ? "✓" : "✗ extra  ") : "✗ missing"} ${e.name}`);
      });
      mkdirSync(OUT, { recursive: true });
      for (const { r } of results) {
        const name = r.method.split("(")[0]!;
        const circuit = { layout: setup.layout, inGraph: r.inGraph, scores: r.scores };
        writeFileSync(
          join(OUT, `${name}.json`),
          JSON.stringify(toMibJson(setup.layout, circuit, model.config), null, 1),
        );
        writeFileSync(join(OUT, `${name}.svg`), toSvg(circuit));
      }
      const cells = results.map(({ r }, i) =>
        cellResultFromDiscovery({
          spec: { model: MODEL, task: { n, seed, options: { corrupt: "first" } }, ...methods[i]! },
          model: { name: MODEL, nLayers: model.config.nLayers, nHeads: model.config.nHeads },
          layout: setup.layout,
          discovered: r,
          examples: n,
          truthEdges,
          metricKind: "logit-diff",
        }),
      );
      const causal = yield* causalDemo(seed);
      const html = yield* Effect.promise(() =>
        renderRunReport(
          {
            runId: "demo",
            spec: { model: MODEL, methods, causal: causal.map((c) => c.spec) },
            cells: [...cells, ...causal].map((c) => c.cellId),
          },
          [...cells, ...causal],
        ),
      );
      writeFileSync(join(OUT, "report.html"), html);
      console.log(`wrote ${OUT}/{eap,eap-ig-inputs,acdc,exact}.{json,svg} (EAP-IG/MIB circuit JSON and SVG)`);
      console.log(`wrote ${OUT}/Q.rotation.json (the DAS rotation: reload with loadRotation)`);
      console.log(
        `wrote ${OUT}/report.html (open it in a browser: circuits, scores, faithfulness, ground truth, IIA heatmap, DAS vs controls)`,
      );
    }),
  );

/**
 * The causal half of the main job: does the compiled induction model implement "copy the token
 * after the earlier occurrence of the query Q", with Q read from TOK at the last position? An IIA
 * sweep over (layer, position) locates Q, and DAS learns a 16-dim subspace for it, reported
 * against its controls (random-init model, random rotation, full component, held-out family).
 */
const causalDemo = (seed: number) =>
  Effect.gen(function* () {
    const cell = (method: CausalMethod, n: number): CausalCellSpec => ({
      kind: "causal",
      model: null,
      task: {
        builtin: "induction",
        options: {},
        family: "query",
        n,
        test: 64,
        heldOut: ["query-same-block"],
        seed,
      },
      method,
      runtime: { threads: 1 },
      seed,
    });
    const specs = [
      cell({ _tag: "iia-sweep", variable: "Q", sites: "resid", positions: "all", subspace: "full" }, 64),
      cell(
        {
          _tag: "das",
          variable: "Q",
          site: "blocks.1.resid_pre",
          positions: ["last"],
          rank: 16,
          parametrization: "cayley",
          steps: 400,
          lr: 0.01,
          batchSize: 32,
          warmup: 0.1,
          controls: true,
        },
        512,
      ),
    ];
    const out: CausalCellResult[] = [];
    for (const spec of specs) {
      const r = yield* runCausalCell({ spec, baseDir: process.cwd() });
      out.push(r.result);
      // the learned rotation, reloadable with loadRotation (experiments: method iia, rotations)
      for (const f of r.files) writeFileSync(join(OUT, basename(f.path)), f.content);
    }
    const [sweep, das] = [out[0]!.sweep!, out[1]!.das!];
    console.log(`\ncausal abstraction (${out[0]!.model.name}, V = 16): where does the query token Q live?`);
    console.log(
      `  IIA of interchanging Q, rows = sites, columns = positions 0 … ${sweep.positions.length - 1}:`,
    );
    for (const [i, r] of sweep.grid.entries())
      console.log(`  ${sweep.sites[i]!.padEnd(20)} ${r.map((v) => v.toFixed(2)).join(" ")}`);
    console.log(
      `  MIB: mean ${fmt(sweep.mean)}, max ${fmt(sweep.max)} over layers; best ${sweep.best.site} @ ${sweep.best.position}`,
    );
    const c = das.controls!;
    console.log(
      `  DAS (rank ${das.rank}, ${das.parametrization}) at ${das.site}: IIA test ${fmt(das.iia.test)}; controls: random-init model ${fmt(c.randomModel.test)}, random rotation ${fmt(c.randomRotation)}, full component ${fmt(c.fullComponent)}, held-out family ${fmt(c.heldOut["query-same-block"])}`,
    );
    return out;
  });
