import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel } from "@patchbay/core/weights";
import { type Flags, intFlag } from "@patchbay/core/cli";
import { Effect } from "effect";
import type { CausalCellResult } from "../kinds/causal/result.ts";
import { circuitSvg } from "../report/graph.ts";
import { renderRunReport } from "../report/run-page.ts";
import type { CellResult } from "../kinds/index.ts";
import { type RunSummary, runExperiment } from "../run/experiment.ts";
import { decodeExperiment, parseExperimentText } from "../spec/load.ts";
import { readExperimentFile } from "../spec/parse.ts";

/**
 * The main job, as two experiment files run like any other (`runExperiment`): examples/demo.yaml
 * discovers the circuit of a built-in model whose circuit is known (the compiled induction model:
 * previous-token head a0.h1 → induction head a1.h2 by K-composition) with EAP, EAP-IG, ACDC and
 * exact patching, each against the ground truth (edges found, precision, recall, ROC AUC,
 * faithfulness and its spread); examples/demo-causal.yaml locates the query token with an IIA
 * sweep and DAS. Results go to the store under out/demo/ (cells, runs, tables, artifacts), the
 * circuits also as EAP-IG/MIB JSON and SVG, and one self-contained HTML report of both runs.
 * Nothing is downloaded: the model is built from code on first use.
 */
const OUT = "out/demo";
const examples = fileURLToPath(new URL("../../examples/", import.meta.url));

const fmt = (x: number | undefined | null, d = 3) =>
  x === undefined || x === null || !Number.isFinite(x) ? "—" : x.toFixed(d);

const row = (cells: readonly string[], widths: readonly number[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");

/** Run an example file with the demo's seed (and, for the circuit file, its number of pairs). */
const runExample = (file: string, edit: (doc: Record<string, unknown>) => void) =>
  Effect.gen(function* () {
    const path = join(examples, file);
    const { text } = yield* readExperimentFile(path);
    const doc = yield* parseExperimentText(text, path);
    edit(doc);
    const loaded = yield* decodeExperiment(doc, path);
    return yield* runExperiment(loaded, { results: resolve(OUT) });
  });

export const demoCommand = (f: Flags) =>
  Effect.gen(function* () {
    const seed = intFlag(f, "seed", 0);
    const n = intFlag(f, "n", 32, 1);
    const t0 = performance.now();
    const { config } = yield* loadModel("builtin:induction");
    console.log(
      `patchbay demo: builtin:induction — ${config.nLayers} layers × ${config.nHeads} heads, d_model ${config.dModel} (built from code, cached; ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    const circuits = yield* runExample("demo.yaml", (doc) => {
      doc.seeds = [seed];
      doc.task = { ...(doc.task as object), n };
    });
    printCircuits(circuits, n, seed);
    const causal = yield* runExample("demo-causal.yaml", (doc) => {
      doc.seeds = [seed];
    });
    printCausal(causal);

    mkdirSync(OUT, { recursive: true });
    const cells = circuits.cells.map((c) => c.result as CellResult);
    for (const r of cells) {
      const name = r.method.split("(")[0]!;
      if (r.artifact !== null) copyFileSync(join(circuits.results, r.artifact), join(OUT, `${name}.json`));
      writeFileSync(join(OUT, `${name}.svg`), (yield* Effect.promise(() => circuitSvg(r))).svg);
    }
    // the learned rotation, reloadable with loadRotation (experiments: method iia, rotations)
    for (const c of causal.cells) {
      const das = (c.result as CausalCellResult).das;
      if (das !== null) copyFileSync(join(causal.results, das.artifact), join(OUT, basename(das.artifact)));
    }
    const all = [...circuits.cells, ...causal.cells].map((c) => c.result);
    const html = yield* Effect.promise(() =>
      renderRunReport(
        {
          runId: "demo",
          spec: { circuit: circuits.manifest.experiment, causal: causal.manifest.experiment },
          cells: all.map((r) => r.cellId),
          cellSeconds: Object.fromEntries(
            [...circuits.cells, ...causal.cells].flatMap((c) =>
              c.seconds === null ? [] : [[c.cellId, c.seconds]],
            ),
          ),
        },
        all,
      ),
    );
    writeFileSync(join(OUT, "report.html"), html);
    console.log(`wrote ${OUT}/{eap,eap-ig-inputs,acdc,exact}.{json,svg} (EAP-IG/MIB circuit JSON and SVG)`);
    console.log(`wrote ${OUT}/Q.rotation.json (the DAS rotation: reload with loadRotation)`);
    console.log(`wrote ${OUT}/runs/{${circuits.runId},${causal.runId}} (the runs: manifests, tables)`);
    console.log(
      `wrote ${OUT}/report.html (open it in a browser: circuits, scores, faithfulness, ground truth, IIA heatmap, DAS vs controls)`,
    );
  });

/** Each method's circuit against the ground truth, and ACDC's circuit edge by edge. */
const printCircuits = (s: RunSummary, n: number, seed: number): void => {
  const results = s.cells.map((c) => c.result as CellResult);
  const first = results[0]!;
  const truth = first.truth?.edges ?? [];
  console.log(
    `task: ${n} clean/corrupted pairs [BOS, A, A] vs [BOS, B, A] (seed ${seed}); metric: logit difference of the repeated token; resample ablation; ${first.edges.length} edges`,
  );
  console.log(`ground truth (${truth.length} edges): ${truth.join(", ")}\n`);
  const widths = [26, 6, 8, 9, 7, 8, 14, 9, 7, 8];
  const header = ["method", "edges", "correct", "precision", "recall", "ROC AUC", "faithfulness", "spread"];
  console.log(row([...header, "ρ exact", "time"], widths));
  for (const [i, r] of results.entries()) {
    const found = r.edges.filter((e) => e.inGraph);
    const pe = r.faithfulness.perExample;
    const secs = s.cells[i]!.seconds;
    console.log(
      row(
        [
          r.method,
          String(found.length),
          String(found.filter((e) => truth.includes(e.name)).length),
          fmt(r.truth?.precision),
          fmt(r.truth?.recall),
          fmt(r.truth?.auc),
          fmt(r.faithfulness.mean),
          `${fmt(pe.min, 2)}–${fmt(pe.max, 2)}`,
          fmt(r.spearmanVsExact),
          secs === null ? "cached" : `${secs.toFixed(2)} s`,
        ],
        widths,
      ),
    );
  }
  const acdc = results.find((r) => r.method.startsWith("acdc"))!;
  console.log(`\nACDC's circuit against the ground truth:`);
  for (const e of acdc.edges) {
    const inTruth = truth.includes(e.name);
    if (e.inGraph || inTruth)
      console.log(`  ${e.inGraph ? (inTruth ? "✓" : "✗ extra  ") : "✗ missing"} ${e.name}`);
  }
};

/** Where Q lives (the IIA grid and MIB's aggregation), and DAS against its controls. */
const printCausal = (s: RunSummary): void => {
  const [sweepCell, dasCell] = s.cells.map((c) => c.result as CausalCellResult);
  const sweep = sweepCell!.sweep!;
  const das = dasCell!.das!;
  console.log(`\ncausal abstraction (${sweepCell!.model.name}, V = 16): where does the query token Q live?`);
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
};
