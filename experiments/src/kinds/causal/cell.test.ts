import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CausalError } from "@patchbay/causal";
import { Effect, Either } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import type { CausalCellResult } from "./result.ts";
import { loadExperiment } from "../../spec/load.ts";
import { runExperiment } from "../../run/experiment.ts";
import { cellPath } from "../../run/store.ts";

/**
 * Causal-abstraction experiments end to end: experiment files → cells → results store (with the
 * DAS rotation artifact beside the result) → reload of the artifact by an iia cell.
 */
const dir = mkdtempSync(join(tmpdir(), "patchbay-causal-run-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, lines: readonly string[]): string => {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
};
const run = (file: string, results = "store") =>
  Effect.runPromise(
    Effect.flatMap(loadExperiment(file), (l) => runExperiment(l, { results: join(dir, results) })),
  );

describe("causal experiments", () => {
  const sweep = write("sweep.yaml", [
    "kind: causal",
    "task: { builtin: induction, family: query, n: 32 }",
    "method: { _tag: iia-sweep, variable: Q, sites: resid, positions: all }",
  ]);
  const dasFile = write("das.yaml", [
    "kind: causal",
    "task: { builtin: linear-toy, family: X, n: 96, test: 32, heldOut: [X-same-Y] }",
    "method: { _tag: das, variable: X, site: blocks.0.resid_post, positions: [last], rank: 2, steps: 120, lr: 0.05, parametrization: householder }",
  ]);

  it("an IIA sweep gives the MIB aggregation of its grid, and reruns are byte-identical", async () => {
    const s = await run(sweep);
    const r = s.cells[0]!.result as CausalCellResult;
    expect(r.kind).toBe("causal");
    expect(r.method).toBe("iia-sweep");
    const g = r.sweep!;
    expect(g.sites).toEqual(["blocks.0.resid_pre", "blocks.1.resid_pre", "blocks.1.resid_post"]);
    expect(g.positions.length).toBe(8); // [BOS, 6 block tokens, query]
    expect(g.perLayer).toEqual(g.grid.map((row) => Math.max(...row)));
    expect(g.mean).toBeCloseTo(g.perLayer.reduce((a, b) => a + b, 0) / 3, 12);
    expect(g.best).toMatchObject({ position: "7" });
    expect(g.grid[1]![7]).toBeGreaterThanOrEqual(0.95);
    const first = readFileSync(cellPath(join(dir, "store"), r.cellId), "utf8");
    const again = await run(sweep, "store2");
    expect(readFileSync(cellPath(join(dir, "store2"), again.cells[0]!.cellId), "utf8")).toBe(first);
  });

  it("DAS saves its rotation beside the result with the controls; an iia cell reloads it and re-evaluates to the same IIA", async () => {
    const s = await run(dasFile);
    const r = s.cells[0]!.result as CausalCellResult;
    const d = r.das!;
    expect(d.iia.test).toBeGreaterThanOrEqual(0.95);
    expect(d.controls!.heldOut["X-same-Y"]).toBeGreaterThanOrEqual(0.95);
    expect(d.controls!.randomRotation).toBeLessThan(0.5);
    expect(d.controls!.randomModel.test).toBeLessThan(0.5);
    expect(d.curve.length).toBe(120);
    const artifact = join(dir, "store", d.artifact);
    expect(existsSync(artifact)).toBe(true);
    // the same n and seed as the DAS cell's training pairs: the reloaded rotation scores its train IIA
    const reload = write("reload.yaml", [
      "kind: causal",
      "task: { builtin: linear-toy, family: X, n: 96 }",
      "method:",
      "  _tag: iia",
      "  alignment: [{ variable: X, site: blocks.0.resid_post, positions: [last], subspace: { rank: 2 } }]",
      `  rotations: { X: ${JSON.stringify(artifact)} }`,
    ]);
    const again = await run(reload);
    const re = again.cells[0]!.result as CausalCellResult;
    expect(re.iia!.accuracy).toBe(d.iia.train);
    expect(re.iia!.n).toBe(96);
  });

  /** The typed failure of a run (a defect — an untyped throw — rejects instead, and fails the test). */
  const failure = async (file: string) => {
    const r = await Effect.runPromise(
      Effect.either(
        Effect.flatMap(loadExperiment(file), (l) => runExperiment(l, { results: join(dir, "bad") })),
      ),
    );
    if (Either.isRight(r)) throw new Error(`${file} ran`);
    return r.left;
  };

  it("bad input names the file and field: unknown family, named alignment, rank mismatch", async () => {
    const badFamily = write("bad-family.yaml", [
      "kind: causal",
      "task: { builtin: induction, family: nope }",
      "method: { _tag: iia, alignment: query }",
    ]);
    const fam = await failure(badFamily);
    expect(fam._tag).toBe("InputError");
    expect(fam.message).toBe(
      'task.family: expected a counterfactual family of the causal task induction: query, query-same-block, output, found "nope"',
    );
    const heldOut = write("bad-held-out.yaml", [
      "kind: causal",
      "task: { builtin: induction, heldOut: [output, nope] }",
      "method: { _tag: iia, alignment: query }",
    ]);
    expect((await failure(heldOut)).message).toMatch(
      /^task\.heldOut\[1\]: .*query, query-same-block, output/,
    );
    const badName = write("bad-name.yaml", [
      "kind: causal",
      "task: { builtin: induction }",
      "method: { _tag: iia, alignment: truth }",
    ]);
    await expect(run(badName)).rejects.toThrow(
      /method.alignment.*query, queryWrongSubspace, queryWrongPosition, output.*"truth"/,
    );
    const badField = write("bad-field.yaml", [
      "kind: causal",
      "task: { builtin: induction }",
      "method: { _tag: das, variable: Q, site: blocks.1.resid_pre, positions: [last], rank: 0 }",
    ]);
    await expect(Effect.runPromise(loadExperiment(badField))).rejects.toThrow(/bad-field.yaml: method.rank/);
  });

  it("sites and positions a method names are checked before anything runs", async () => {
    const badSite = write("bad-site.yaml", [
      "kind: causal",
      "task: { builtin: induction, n: 8 }",
      "method: { _tag: das, variable: Q, site: blocks.7.resid_pre, positions: [last], steps: 1 }",
    ]);
    const site = await failure(badSite);
    expect(site._tag).toBe("InputError");
    expect(site.message).toMatch(
      /^method\.site: expected a site of .*nearest: blocks\.\d\.resid_pre.*found "blocks\.7\.resid_pre"/,
    );
    const badPosition = write("bad-position.yaml", [
      "kind: causal",
      "task: { builtin: induction, n: 8 }",
      "method: { _tag: das, variable: Q, site: blocks.1.resid_pre, positions: [{ index: 99 }], steps: 1 }",
    ]);
    const pos = await failure(badPosition);
    expect(pos._tag).toBe("CausalError"); // the causal package's own check (checkPositions)
    expect(pos.message).toMatch(
      /method\.positions\[0\] in example 0 \(base\): expected a position in \[0, \d+\)/,
    );
    const inline = write("bad-inline.yaml", [
      "kind: causal",
      "task: { builtin: induction, n: 8 }",
      "method: { _tag: iia, alignment: [{ variable: Q, site: blocks.0.nope, positions: [last] }] }",
    ]);
    expect((await failure(inline)).message).toMatch(/^method\.alignment\[0\]\.site: /);
  });

  it("a CausalError keeps its own tag and fields through runExperiment (no InputError in its place)", async () => {
    const file = write("causal-error.yaml", [
      "kind: causal",
      "task: { builtin: induction, n: 8 }",
      "method: { _tag: das, variable: Q, site: blocks.1.resid_pre, positions: [{ index: 99 }], steps: 1 }",
    ]);
    const e = await failure(file);
    expect(e).toBeInstanceOf(CausalError);
    if (!(e instanceof CausalError)) throw e;
    expect(e._tag).toBe("CausalError");
    expect(e.field).toBe("method.positions[0] in example 0 (base)");
    expect(e.expected).toMatch(/^a position in \[0, \d+\)/);
    expect(e.found).toBe(`99 (${JSON.stringify({ index: 99 })})`);
    expect(e.message).toBe(`${e.where}: ${e.field}: expected ${e.expected}, found ${e.found}`);
  });
});
