import type { CellResult } from "../kinds/index.ts";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { loadExperiment } from "../spec/load.ts";
import { listRuns, type RunManifest, runExperiment } from "./experiment.ts";
import { cellPath } from "./store.ts";
import { readArrow } from "./tables.ts";

const dir = mkdtempSync(join(tmpdir(), "patchbay-run-"));
const file = join(dir, "sweep.yaml");
writeFileSync(
  file,
  [
    "name: tiny-sweep",
    "model: builtin:induction",
    "task: { n: 8, options: { corrupt: first } }",
    "method: { _tag: eap }",
    "selection: { _tag: top-n, n: 4 }",
    "evaluation: { spearmanSample: 24, curve: true }",
    "outputs: { results: store }",
    "sweep:",
    "  grid: { task.seed: [0, 1] }",
    // ACDC decides its own circuit: a selection with it is refused, null drops it
    "  zip: { method: [{ _tag: eap }, { _tag: acdc, tau: 0.5 }], selection: [{ _tag: top-n, n: 4 }, null] }",
    "",
  ].join("\n"),
);
const load = () => Effect.runPromise(loadExperiment(file));

describe("runExperiment: content-addressed store, manifest, tables", () => {
  it("runs every cell, skips finished ones, and gives byte-identical result files when a cell is recomputed", async () => {
    const s = await Effect.runPromise(runExperiment(await load()));
    const results = join(dir, "store");
    expect(s.results).toBe(results);
    expect(s.cells.length).toBe(4);
    const ids = s.cells.map((c) => c.cellId);
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(existsSync(cellPath(results, id))).toBe(true);
    // the cell file is the CellResult: known circuit, curve, Spearman, truth
    const eap = s.cells[0]!.result as CellResult;
    expect(eap.cellId).toBe(ids[0]);
    expect(eap.method).toBe("eap");
    expect(eap.spec).toMatchObject({ method: { _tag: "eap" }, task: { seed: 0 } });
    expect(eap.edges.length).toBe(81);
    expect(eap.curve?.fractions.length).toBeGreaterThan(3);
    expect(eap.spearmanVsExact).not.toBeNull();
    expect(eap.truth?.auc).toBe(1);
    const acdc = s.cells[1]!.result as CellResult;
    expect(acdc.method).toContain("acdc");
    expect(acdc.truth).toMatchObject({ precision: 1, recall: 1 });
    expect(acdc.spearmanVsExact).not.toBeNull(); // ACDC's Δs ranked against exact patching too
    expect(acdc.edges.every((e) => e.score !== null)).toBe(true); // every edge has a score
    const cellFile = readFileSync(cellPath(results, ids[1]!), "utf8");
    expect(cellFile).not.toMatch(/20\d\d-\d\d-\d\dT/); // no timestamps in cell files

    // manifest
    const m = JSON.parse(
      readFileSync(join(results, "runs", s.runId, "manifest.json"), "utf8"),
    ) as RunManifest;
    expect(m.status).toBe("done");
    expect(m.cells.map((c) => c.cellId)).toEqual(ids);
    expect(m.versions.node).toBe(process.version);
    expect(m.versions.onnxruntimeNode).toMatch(/^\d+\.\d+/);
    expect(m.versions.patchbay).toMatch(/^\d+\.\d+/);
    expect(m.machine.cpus).toBeGreaterThan(0);
    expect(m.seeds).toEqual([0]);
    expect(Object.keys(m.timings.cells).sort()).toEqual([...ids].sort());
    expect(m.invocations).toHaveLength(1);
    expect(m.invocations[0]!.computed).toBe(4);

    // tables: JSONL and Arrow, read back with apache-arrow
    const jsonl = readFileSync(join(results, "runs", s.runId, "table.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(jsonl.map((r) => r.cellId)).toEqual(ids);
    expect(jsonl[0]).toMatchObject({ "task.seed": 0, "selection.n": 4, method: "eap", auc: 1 });
    expect(jsonl[0]).not.toHaveProperty("method._tag"); // the swept method's tag is the method column
    expect(jsonl[1]).toMatchObject({ method: "acdc", "method.tau": 0.5, precision: 1, selection: null });
    expect(jsonl[1]!["selection.n"]).toBeNull();
    const bytes = readFileSync(join(results, "runs", s.runId, "table.arrow"));
    const t = tableFromIPC(bytes);
    expect(t.numRows).toBe(4);
    expect(t.schema.fields.map((f) => f.name)).toEqual(
      expect.arrayContaining(["cellId", "task.seed", "faithfulness", "auc", "cpr"]),
    );
    expect(String(t.schema.fields.find((f) => f.name === "faithfulness")!.type)).toBe("Float64");
    expect([...t.getChild("cellId")!.toArray()]).toEqual(ids);
    const rows = readArrow(bytes);
    expect(rows[1]!["method.tau"]).toBe(0.5);
    expect(rows[0]!["method.tau"]).toBeNull();
    expect(rows.map((r) => r.faithfulness)).toEqual(jsonl.map((r) => r.faithfulness));

    // re-run: nothing computed
    const again = await Effect.runPromise(runExperiment(await load()));
    expect(again.runId).toBe(s.runId);
    expect(again.cells.every((c) => c.skipped)).toBe(true);

    // delete one cell file, run again: recomputed to the same bytes
    rmSync(cellPath(results, ids[1]!));
    const third = await Effect.runPromise(runExperiment(await load()));
    expect(third.cells.map((c) => c.skipped)).toEqual([true, false, true, true]);
    expect(readFileSync(cellPath(results, ids[1]!), "utf8")).toBe(cellFile);
    rmSync(cellPath(results, ids[0]!));
    const before = readFileSync(join(results, "runs", s.runId, "table.jsonl"), "utf8");
    await Effect.runPromise(runExperiment(await load()));
    expect(readFileSync(cellPath(results, ids[0]!), "utf8")).toBe(`${JSON.stringify(eap, null, 1)}\n`);
    expect(readFileSync(join(results, "runs", s.runId, "table.jsonl"), "utf8").split("\n").length).toBe(
      before.split("\n").length,
    );

    const m4 = JSON.parse(
      readFileSync(join(results, "runs", s.runId, "manifest.json"), "utf8"),
    ) as RunManifest;
    expect(m4.invocations.map((i) => i.computed)).toEqual([4, 0, 1, 1]);
    expect(readdirSync(join(results, "cells")).filter((f) => !f.endsWith(".json"))).toEqual([]);

    expect(listRuns(results)).toEqual([
      expect.objectContaining({ runId: s.runId, name: "tiny-sweep", status: "done", done: 4, total: 4 }),
    ]);
  });

  it("a different model option, task or patchbay input gives a different cell id", async () => {
    const l = await load();
    const { planCells } = await import("./experiment.ts");
    const a = await Effect.runPromise(planCells(l));
    const other = join(dir, "other.yaml");
    writeFileSync(
      other,
      readFileSync(file, "utf8").replace("builtin:induction", "builtin:induction?attnLogit=19"),
    );
    const b = await Effect.runPromise(planCells(await Effect.runPromise(loadExperiment(other))));
    expect(a.map((p) => p.cell.specHash)).not.toEqual(b.map((p) => p.cell.specHash));
    expect(new Set([...a, ...b].map((p) => p.cellId)).size).toBe(8);
  });
});
