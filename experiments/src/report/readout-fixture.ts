import { Effect } from "effect";
import type { ReadoutCellResult } from "../kinds/index.ts";
import { runReadoutCell } from "../kinds/readout/cell.ts";
import { decodeExperiment, expandCells } from "../spec/load.ts";

/**
 * Real readout cells for report tests: one small cell per method on builtin:induction, decoded
 * from experiment documents and run through the readout runner (no hand-made result shapes).
 */
export const READOUT_FIXTURE_DOCS: Readonly<Record<string, Record<string, unknown>>> = {
  "logit-lens": { data: { task: { n: 4 } }, method: { _tag: "logit-lens", topK: 3 } },
  "tuned-lens": {
    data: { task: { n: 8 } },
    method: { _tag: "tuned-lens", steps: 6, lr: 0.01, batchSize: 4 },
  },
  "input-attribution": {
    data: { task: { n: 2 } },
    method: { _tag: "input-attribution", baseline: { _tag: "prompt" }, steps: 8 },
  },
  dla: { data: { task: { n: 4 } }, method: { _tag: "dla" } },
  attention: { data: { task: { n: 1 } }, method: { _tag: "attention" } },
  probe: {
    data: { example: "prev-token", n: 24, options: { length: 8 } },
    method: { _tag: "probe", site: ["blocks.0.resid_pre", "blocks.1.resid_pre"], maxIter: 50 },
  },
  steering: {
    data: { example: "induction-steering" },
    method: {
      _tag: "steering",
      site: "blocks.1.resid_post",
      meanPositions: "last",
      positions: "last",
      alphas: [0, 1, 2],
      generateTokens: 1,
    },
  },
  erasure: {
    data: { example: "prev-token", n: 24, options: { length: 8 } },
    method: { _tag: "erasure", probe: { site: "blocks.1.resid_pre", control: false, maxIter: 50 } },
  },
  neurons: {
    data: { task: { n: 16 } },
    method: {
      _tag: "neurons",
      records: { site: "blocks.1.attn.z", index: 69, topK: 4, randomK: 4, window: 6 },
      score: { explainTop: 2 },
    },
  },
  sae: {
    data: { task: { n: 16 } },
    method: { _tag: "sae", site: "blocks.1.resid_pre", train: { dictSize: 16, steps: 40, batchSize: 64 } },
  },
  "sae-circuit": {
    data: { task: { n: 8 } },
    method: {
      _tag: "sae-circuit",
      site: "blocks.1.resid_pre",
      train: { dictSize: 16, steps: 40, batchSize: 64 },
      sizes: [1, 4, "all"],
    },
  },
  patchscope: {
    data: { task: { n: 4 } },
    method: {
      _tag: "patchscope",
      source: { site: "blocks.1.resid_pre", position: -1 },
      target: { site: "blocks.1.resid_pre", position: -1 },
      generate: 2,
    },
  },
  "attention-entropy": { data: { task: { n: 2 } }, method: { _tag: "attention-entropy" } },
};

export const readoutFixtureCell = (doc: Record<string, unknown>): Effect.Effect<ReadoutCellResult, unknown> =>
  Effect.gen(function* () {
    const loaded = yield* decodeExperiment(
      { kind: "readout", model: "builtin:induction", ...doc },
      "readout-fixture.yaml",
    );
    const spec = (yield* expandCells(loaded))[0]!.spec;
    if (spec.kind !== "readout") return yield* Effect.die("not a readout spec");
    return (yield* runReadoutCell({ spec, baseDir: "." })).result;
  });

/** Every method's fixture cell, in READOUT_FIXTURE_DOCS order. */
export const readoutFixtureCells = (): Promise<ReadoutCellResult[]> =>
  Effect.runPromise(Effect.all(Object.values(READOUT_FIXTURE_DOCS).map(readoutFixtureCell)));
