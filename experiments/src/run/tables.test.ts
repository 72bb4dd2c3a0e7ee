import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Field, Table, tableFromIPC } from "apache-arrow";
import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { declaredColumns } from "./tables.ts";
import type { AnyCellResult, CellResult } from "../kinds/index.ts";
import { causalCells } from "../report/fixture.ts";
import { READOUT_FIXTURE_DOCS, readoutFixtureCell } from "../report/readout-fixture.ts";
import { loadExperiment } from "../spec/load.ts";
import { runExperiment } from "./experiment.ts";
import { formatJsonl, readArrow, sweptColumnType, tableColumns, tableRow, toArrow } from "./tables.ts";

/**
 * Run tables other tools read: a declared schema per table kind, stable across runs, so the
 * table.arrow files of two runs with different methods (and different swept values) concatenate
 * with apache-arrow; integers are int64, figures float64, and an all-null column keeps its type.
 */
const dir = mkdtempSync(join(tmpdir(), "patchbay-tables-"));

const runFile = async (name: string, lines: readonly string[]) => {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, [`name: ${name}`, ...lines, `outputs: { results: ${name}-store }`, ""].join("\n"));
  const s = await Effect.runPromise(runExperiment(await Effect.runPromise(loadExperiment(file))));
  const bytes = readFileSync(join(s.results, "runs", s.runId, "table.arrow"));
  const jsonl = readFileSync(join(s.results, "runs", s.runId, "table.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { s, table: tableFromIPC(bytes), bytes, jsonl };
};

const typeOf = (fields: readonly Field[], name: string) => String(fields.find((f) => f.name === name)?.type);

describe("run tables (JSONL and Arrow)", () => {
  it("two real runs with different methods concatenate: same schema, int64 counts, float64 figures, all-null columns typed", async () => {
    // EAP with the ground truth; ACDC without it (precision is null in every row of that run)
    const eap = await runFile("eap-run", [
      "model: builtin:induction",
      "task: { n: 4, options: { corrupt: first } }",
      "method: { _tag: eap }",
      "selection: { _tag: top-n, n: 3 }",
      "evaluation: { spearmanSample: 8 }",
      "sweep: { grid: { task.seed: [0, 1] } }",
    ]);
    const acdc = await runFile("acdc-run", [
      "model: builtin:induction",
      "task: { n: 4, options: { corrupt: first } }",
      "method: { _tag: acdc, tau: 1 }",
      "evaluation: { truth: false }",
      "sweep: { grid: { task.seed: [2] } }",
    ]);
    expect(eap.jsonl.map((r) => r.precision)).toEqual([expect.any(Number), expect.any(Number)]);
    expect(acdc.jsonl.map((r) => r.precision)).toEqual([null]);

    const both = new Table([...eap.table.batches, ...acdc.table.batches]); // throws on differing schemas
    expect(both.numRows).toBe(3);
    const fields = both.schema.fields;
    const declared = declaredColumns("circuit");
    expect(fields.map((f) => f.name)).toEqual([...declared.map((c) => c.name), "task.seed"]);
    expect(eap.table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(
      acdc.table.schema.fields.map((f) => `${f.name}:${f.type}`),
    );
    for (const name of ["index", "seed", "examples", "edges", "edgesTotal", "task.seed"])
      expect(typeOf(fields, name)).toBe("Int64");
    for (const name of ["faithfulness", "precision", "recall", "auc", "spearman", "cpr", "cmd", "seconds"])
      expect(typeOf(fields, name)).toBe("Float64");
    for (const name of ["cellId", "kind", "method", "methodLabel", "ablation", "selection"])
      expect(typeOf(fields, name)).toBe("Utf8");
    // cpr: no curve asked in either run, a Float64 column of nulls
    expect([...both.getChild("cpr")!]).toEqual([null, null, null]);
    expect(both.getChild("cpr")!.nullCount).toBe(3);
    expect(both.getChild("precision")!.nullCount).toBe(1);
    const rows = both.toArray().map((r) => r.toJSON() as Record<string, unknown>);
    expect(rows.map((r) => r.method)).toEqual(["eap", "eap", "acdc"]);
    expect(rows.map((r) => r.selection)).toEqual(["top-n", "top-n", null]);
    expect(rows.map((r) => r["task.seed"])).toEqual([0n, 1n, 2n]);
    expect(rows.map((r) => r.edgesTotal)).toEqual([81n, 81n, 81n]);
    // the descriptions travel with the schema
    expect(fields.find((f) => f.name === "auc")!.metadata.get("description")).toMatch(/ROC AUC/);
    // the JSONL rows are the Arrow rows
    expect(readArrow(eap.bytes)).toEqual(eap.jsonl);
    expect(readArrow(acdc.bytes)).toEqual(acdc.jsonl);
  });

  it("readout tables of different methods, and causal tables of different methods, have one schema each", async () => {
    const arrowOf = (r: AnyCellResult, varying: Record<string, unknown> = {}) =>
      tableFromIPC(toArrow([tableRow(r, varying, { index: 0, seconds: null })]));
    const [lens, dla] = await Promise.all(
      (["logit-lens", "dla"] as const).map((m) =>
        Effect.runPromise(readoutFixtureCell(READOUT_FIXTURE_DOCS[m]!)),
      ),
    );
    const a = arrowOf(lens!);
    const b = arrowOf(dla!);
    const readouts = new Table([...a.batches, ...b.batches]);
    expect(readouts.schema.fields.map((f) => f.name)).toEqual(declaredColumns("readout").map((c) => c.name));
    expect(typeOf(readouts.schema.fields, "sites")).toBe("Int64");
    expect(typeOf(readouts.schema.fields, "topComponent")).toBe("Utf8");
    const rows = readouts.toArray().map((r) => r.toJSON() as Record<string, unknown>);
    expect(rows.map((r) => [r.method, r.sites, r.topComponent])).toEqual([
      ["logit-lens", 3n, null],
      ["dla", null, "a1.h2"],
    ]);
    const { iia, das, sweep } = causalCells();
    const causal = new Table([iia, das, sweep].flatMap((r) => arrowOf(r).batches));
    expect(causal.schema.fields.map((f) => f.name)).toEqual(declaredColumns("causal").map((c) => c.name));
    expect(typeOf(causal.schema.fields, "dasRank")).toBe("Int64");
    expect(typeOf(causal.schema.fields, "iia")).toBe("Float64");
  });

  it("swept fields take their type from the field's schema, not from the values swept", () => {
    expect(sweptColumnType("circuit", "method.tau")).toBe("float64"); // even when every τ is a whole number
    expect(sweptColumnType("circuit", "task.seed")).toBe("int64");
    expect(sweptColumnType("circuit", "selection.n")).toBe("int64");
    expect(sweptColumnType("circuit", "selection.absolute")).toBe("bool");
    expect(sweptColumnType("circuit", "method")).toBe("utf8"); // a tagged object: its tag
    expect(sweptColumnType("circuit", "evaluation.truth")).toBe("utf8"); // boolean or variant name
    expect(sweptColumnType("circuit", "task.options.corrupt")).toBe("utf8"); // open: generator options
    expect(sweptColumnType("causal", "method.rank")).toBe("int64");
    expect(sweptColumnType("causal", "method.alignment")).toBe("utf8"); // a name or an inline alignment
    expect(sweptColumnType("readout", "method.alphas")).toBe("utf8"); // a list, as JSON
    expect(sweptColumnType("readout", "data.n")).toBe("int64");
  });

  const circuit = (over: Partial<CellResult> = {}): CellResult => ({
    patchbayVersion: "0",
    cellId: "c".repeat(64),
    spec: {
      model: "builtin:induction",
      method: { _tag: "acdc", tau: 1 },
      ablation: "zero",
      granularity: "head",
      selection: null,
      seed: 3,
    },
    model: { name: "induction", weightsHash: "w", nLayers: 2, nHeads: 4 },
    dataset: { hash: "d", examples: 4 },
    method: "acdc(τ=1, normal)",
    edges: [
      { name: "input->logits", score: 1, inGraph: true },
      { name: "a0.h0->logits", score: null, inGraph: false },
    ],
    metric: { kind: "logit-diff", full: 2, empty: 0, circuit: 1 },
    faithfulness: { mean: 0.5, perExample: { mean: 0.5, median: 0.5, q25: 0.4, q75: 0.6, min: 0, max: 1 } },
    curve: null,
    spearmanVsExact: null,
    truth: null,
    artifact: null,
    ...over,
  });

  it("a swept tagged object is its tag in the method / selection column, its fields in dotted columns; no `._tag` column", () => {
    const row = tableRow(
      circuit(),
      { method: { _tag: "acdc", tau: 1, order: "reverse" }, "task.options": { corrupt: "first" }, seed: 3 },
      { index: 0, seconds: 1.5 },
    );
    expect(row).toMatchObject({
      method: "acdc",
      methodLabel: "acdc(τ=1, normal)",
      "method.tau": 1,
      "method.order": "reverse",
      "task.options": '{"corrupt":"first"}',
      seed: 3,
      edges: 1,
      selection: null,
    });
    expect(Object.keys(row).filter((k) => k.includes("_tag"))).toEqual([]);
    // a sweep over the tag itself (`selection._tag: [top-n, greedy]`) is the selection column too
    const tagged = tableRow(
      circuit({ spec: { ...(circuit().spec as object), selection: { _tag: "greedy", n: 2 } } }),
      { "selection._tag": "greedy" },
      { index: 0, seconds: null },
    );
    expect(tagged.selection).toBe("greedy");
    expect(Object.keys(tagged).filter((k) => k.includes("_tag"))).toEqual([]);
    const cols = tableColumns([row]);
    expect(cols.filter((c) => c.name.startsWith("method.")).map((c) => `${c.name}:${c.type}`)).toEqual([
      "method.tau:float64",
      "method.order:utf8",
    ]);
  });

  it("property: any finite or non-finite figures round-trip JSONL → Arrow → rows, non-finite as null", () => {
    const figure = fc.oneof(
      fc.double(),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ f: figure, m: figure, auc: fc.option(figure), tau: fc.double({ noNaN: true }) }),
          {
            minLength: 1,
            maxLength: 6,
          },
        ),
        (cells) => {
          const rows = cells.map((c, i) =>
            tableRow(
              circuit({
                cellId: `${i}`.padStart(64, "0"),
                faithfulness: { ...circuit().faithfulness, mean: c.f },
                metric: { kind: "kl", full: c.m, empty: 0, circuit: c.m },
                truth: c.auc === null ? null : { precision: 1, recall: 0, auc: c.auc, edges: [] },
              }),
              { "method.tau": c.tau },
              { index: i, seconds: null },
            ),
          );
          const jsonl = formatJsonl(rows)
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l) as Record<string, unknown>);
          const back = readArrow(toArrow(rows));
          expect(back).toEqual(jsonl);
          // non-finite → null, −0 → 0 (JSON has neither)
          const stored = (x: number | null) => (x === null || !Number.isFinite(x) ? null : x === 0 ? 0 : x);
          for (const [i, c] of cells.entries()) {
            expect(back[i]!.faithfulness).toBe(stored(c.f));
            expect(back[i]!.auc).toBe(stored(c.auc));
            expect(back[i]!["method.tau"]).toBe(stored(c.tau));
          }
          const t = tableFromIPC(toArrow(rows));
          expect(String(t.schema.fields.find((f) => f.name === "auc")!.type)).toBe("Float64");
          expect(String(t.schema.fields.find((f) => f.name === "method.tau")!.type)).toBe("Float64");
        },
      ),
      { numRuns: 60 },
    );
  });

  it("a value that does not fit its declared type is refused, not written", () => {
    const row = tableRow(circuit(), {}, { index: 0, seconds: null });
    expect(() => toArrow([{ ...row, edges: 1.5 }])).toThrow(/edges is int64/);
    expect(() => toArrow([row, { ...row, kind: "readout" }])).toThrow(/kinds/);
  });
});
