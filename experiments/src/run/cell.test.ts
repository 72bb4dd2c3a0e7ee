import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MibGraphJson } from "@patchbay/circuits";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import type { CellResult } from "../kinds/index.ts";
import { loadExperiment } from "../spec/load.ts";
import { circuitArtifactPath } from "../kinds/circuit/cell.ts";
import { runExperiment } from "./experiment.ts";

/**
 * `run` writes every head-granularity circuit cell's circuit as MIB / EAP-IG JSON beside its
 * result (`<results>/artifacts/<cellId>/circuit.json`), written atomically before the result and
 * byte-identical when the cell is recomputed.
 */
const dir = mkdtempSync(join(tmpdir(), "patchbay-cell-"));
const file = join(dir, "circuits.yaml");
writeFileSync(
  file,
  [
    "name: circuits",
    "model: builtin:induction",
    "task: { n: 4, options: { corrupt: first } }",
    "method: { _tag: eap }",
    "selection: { _tag: top-n, n: 3 }",
    "evaluation: { spearmanSample: 0 }",
    "outputs: { results: store }",
    "sweep: { zip: { granularity: [head, layer] } }",
    "",
  ].join("\n"),
);
const run = async () => Effect.runPromise(runExperiment(await Effect.runPromise(loadExperiment(file))));

describe("circuit cells' MIB circuit JSON", () => {
  it("every head-granularity cell has artifacts/<cellId>/circuit.json with every edge, its score and in_graph; reruns write the same bytes", async () => {
    const s = await run();
    const results = join(dir, "store");
    const [head, layer] = s.cells.map((c) => c.result as CellResult);
    expect(head!.artifact).toBe(circuitArtifactPath(head!.cellId));
    const path = join(results, head!.artifact!);
    const text = readFileSync(path, "utf8");
    const mib = JSON.parse(text) as MibGraphJson;
    expect(mib.cfg).toMatchObject({ n_layers: 2, parallel_attn_mlp: false });
    // the same edges as the result, with the same scores and membership (no GQA on this model)
    expect(Object.keys(mib.edges).sort()).toEqual(head!.edges.map((e) => e.name).sort());
    for (const e of head!.edges) {
      expect(mib.edges[e.name]!.in_graph).toBe(e.inGraph);
      expect(mib.edges[e.name]!.score).toBe(e.score);
      expect(typeof mib.edges[e.name]!.score).toBe("number"); // EAP scores every edge
    }
    expect(Object.values(mib.edges).filter((e) => e.in_graph).length).toBe(
      head!.edges.filter((e) => e.inGraph).length,
    );
    expect(head!.edges.some((e) => e.inGraph)).toBe(true);
    expect(mib.nodes.logits).toEqual({ in_graph: true });
    // MIB's format has no layer nodes: no file at layer granularity
    expect(layer!.artifact).toBeNull();
    expect(existsSync(join(results, circuitArtifactPath(layer!.cellId)))).toBe(false);
    // nothing left half-written
    expect(readdirSync(join(results, "artifacts", head!.cellId))).toEqual(["circuit.json"]);

    // the result and its artifact recomputed: the same bytes
    rmSync(join(results, "cells", `${head!.cellId}.json`));
    rmSync(path);
    const again = await run();
    expect(again.cells[0]!.skipped).toBe(false);
    expect(readFileSync(path, "utf8")).toBe(text);
  });
});
