import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cause, Effect, Exit, Option } from "effect";
import { describe, expect, it } from "vitest";
import { runExperiment } from "../run/experiment.ts";
import { cellPath } from "../run/store.ts";
import { loadExperiment } from "../spec/load.ts";

/**
 * `method: { _tag: acdc, split: k }` in an experiment file: in process the parts of each batch run
 * one after another; on `workers: 2` the ACDC loop stays in this process and the parts go to the
 * two threads at once; the cell file is the same bytes. split is part of the cell's identity, and
 * a method without batches refuses it when the file loads.
 */
const dir = mkdtempSync(join(tmpdir(), "patchbay-acdc-split-"));
const acdcExperiment = (folder: string, method: string) => {
  const file = join(folder, `${method.replace(/\W+/g, "-")}.yaml`);
  writeFileSync(
    file,
    [
      "name: acdc-split",
      "model: builtin:induction",
      "task: { n: 4 }",
      `method: ${method}`,
      "evaluation: { spearmanSample: 0 }",
      "",
    ].join("\n"),
  );
  return file;
};
const failureOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) ? Option.getOrNull(Cause.failureOption(exit.cause)) : null;

describe("ACDC with split in experiment files", () => {
  it("in process and on 2 worker threads: the same cell bytes; split is part of the cell id", async () => {
    const loaded = await Effect.runPromise(
      loadExperiment(acdcExperiment(dir, "{ _tag: acdc, tau: 0.05, split: 2 }")),
    );
    const here = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "here") }));
    const threads = await Effect.runPromise(
      runExperiment(loaded, { results: join(dir, "threads"), workers: 2 }),
    );
    const cellId = here.cells[0]!.cellId;
    expect(threads.cells[0]!.cellId).toBe(cellId);
    expect(threads.cells[0]!.skipped).toBe(false);
    const bytes = readFileSync(cellPath(join(dir, "here"), cellId));
    expect(readFileSync(cellPath(join(dir, "threads"), cellId)).equals(bytes)).toBe(true);
    expect(JSON.parse(bytes.toString()).method).toMatch(/split 2/);
    expect(readdirSync(join(dir, "threads", "cells"))).toHaveLength(1);
    const plain = await Effect.runPromise(
      runExperiment(
        await Effect.runPromise(loadExperiment(acdcExperiment(dir, "{ _tag: acdc, tau: 0.05 }"))),
        {
          results: join(dir, "here"),
        },
      ),
    );
    expect(plain.cells[0]!.cellId).not.toBe(cellId);
  }, 120_000);

  it("a method without speculative batches refuses split when the file loads; split 0 too", async () => {
    for (const method of [
      "{ _tag: eap, split: 2 }",
      "{ _tag: exact, split: 2 }",
      "{ _tag: acdc, tau: 0.1, split: 0 }",
    ]) {
      const exit = await Effect.runPromiseExit(loadExperiment(acdcExperiment(dir, method)));
      expect(Exit.isFailure(exit), method).toBe(true);
      expect(JSON.stringify(failureOf(exit)), method).toMatch(/split/);
    }
  }, 30_000);
});
