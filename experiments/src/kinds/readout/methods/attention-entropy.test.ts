import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeSessionCache, openModel } from "@patchbay/core/runtime";
import { plan, runPlan } from "@patchbay/core/engine";
import { taskFor } from "@patchbay/zoo";
import type { AttentionEntropyResult } from "@patchbay/readouts";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { writeReport } from "../../../report/write.ts";
import { runExperiment } from "../../../run/experiment.ts";
import { cellPath } from "../../../run/store.ts";
import { readArrow } from "../../../run/tables.ts";
import { loadExperiment } from "../../../spec/load.ts";
import type { ReadoutCellResult } from "../result.ts";

/**
 * The demonstration that a readout method is one file: experiments/examples/readout-attention-entropy.yaml
 * runs through runExperiment like any experiment file (plan, cell, store, table, report), and its
 * numbers are the naive entropy of the patterns captured through the engine, one prompt at a time
 * (no padding), with plain loops over every key of every row.
 */
const example = fileURLToPath(
  new URL("../../../../examples/readout-attention-entropy.yaml", import.meta.url),
);

const naive = (rows: number[][]) =>
  rows.map((row) => row.reduce((h, p) => (p > 0 ? h - p * Math.log(p) : h), 0));

describe("readout method attention-entropy, end to end", () => {
  it("the example file runs; mean and per-position entropies = the naive computation from captured patterns", async () => {
    const results = mkdtempSync(join(tmpdir(), "patchbay-entropy-"));
    const loaded = await Effect.runPromise(loadExperiment(example));
    const s = await Effect.runPromise(runExperiment(loaded, { results }));
    expect(s.cells.length).toBe(1);
    const cell = s.cells[0]!.result as ReadoutCellResult;
    expect(cell.kind).toBe("readout");
    expect(cell.method).toBe("attention-entropy");
    const stored = JSON.parse(readFileSync(cellPath(results, cell.cellId), "utf8")) as ReadoutCellResult;
    if (stored.method !== "attention-entropy") throw new Error("not an attention-entropy cell");
    const r: AttentionEntropyResult = stored.result;

    // the same prompts (the file's task: n 4, the cell's seed 0), patterns captured one prompt at a time
    const prompts = taskFor("builtin:induction", { seed: 0, n: 4, options: {} }).clean;
    const { config, sums, counts } = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const model = yield* openModel("builtin:induction");
          const cache = yield* makeSessionCache("entropy-naive");
          const { nLayers: L, nHeads: H } = model.config;
          const P = Math.max(...prompts.map((p) => p.length));
          const sums = Array.from({ length: L }, () =>
            Array.from({ length: H }, () => new Array<number>(P).fill(0)),
          );
          const counts = new Array<number>(P).fill(0);
          for (const ids of prompts) {
            const n = ids.length;
            for (let q = 0; q < n; q++) counts[q]! += 1;
            const sites = Array.from({ length: L }, (_, l) => `blocks.${l}.attn.pattern`);
            const out = yield* runPlan(cache, model, plan({ captures: sites, logits: false }), [ids]);
            sites.forEach((site, l) => {
              const a = out.sites.get(site)!.data; // [1, H, n, n]
              for (let h = 0; h < H; h++) {
                const rows = Array.from({ length: n }, (_, q) =>
                  Array.from({ length: n }, (_, k) => a[(h * n + q) * n + k]!),
                );
                naive(rows).forEach((e, q) => {
                  sums[l]![h]![q]! += e;
                });
              }
            });
          }
          return { config: model.config, sums, counts };
        }),
      ),
    );
    const positions = prompts.reduce((a, p) => a + p.length, 0);
    expect(r.prompts).toEqual(counts);
    expect(r.mean.length).toBe(config.nLayers);
    for (let l = 0; l < config.nLayers; l++)
      for (let h = 0; h < config.nHeads; h++) {
        const total = sums[l]![h]!.reduce((a, b) => a + b, 0);
        expect(r.mean[l]![h]!).toBeCloseTo(total / positions, 5);
        sums[l]![h]!.forEach((sum, q) => {
          expect(r.perPosition![l]![h]![q]!).toBeCloseTo(sum / counts[q]!, 5);
        });
      }
    // the compiled induction model's previous-token head attends to one key: entropy near 0
    expect(r.mean[0]![1]!).toBeLessThan(0.2);

    // the run's table has the method's headline; the report has its section
    const rows = readArrow(readFileSync(join(s.results, "runs", s.runId, "table.arrow")));
    expect(rows[0]!.method).toBe("attention-entropy");
    expect(rows[0]!.headlineLabel).toBe("lowest head entropy (nats)");
    const low = Math.min(...r.mean.flat());
    expect(rows[0]!.headline).toBeCloseTo(low, 10);
    const report = await Effect.runPromise(writeReport(s.results, s.runId));
    const html = readFileSync(report.run, "utf8");
    expect(html).toContain("Attention-head entropy");
  });
});
